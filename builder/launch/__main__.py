import sys

from builder.launch.run import main

sys.exit(main())
