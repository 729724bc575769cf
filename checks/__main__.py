"""`python -m checks` is the same as the `eks-checks` command."""

import sys

from checks.cli import main

sys.exit(main())
