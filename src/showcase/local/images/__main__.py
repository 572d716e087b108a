"""``python -m showcase.local.images JOB ROOT [IMAGE_URI]``: one built-in image's job process (``main.main``)."""

import sys

from showcase.local.images.main import main

sys.exit(main(sys.argv[1:]))
