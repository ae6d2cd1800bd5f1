import sys

from vaekit.cli import main

sys.exit(main())
