import sys

from hxbus.cli import main

sys.exit(main())
