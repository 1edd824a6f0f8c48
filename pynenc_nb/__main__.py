import sys

from pynenc_nb.cli import main

sys.exit(main())
