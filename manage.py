#!/usr/bin/env python
import os
import sys


def main() -> None:
    # Production unless told otherwise: unconfigured, it refuses to start and says what is missing
    # (`make run` and the tests name their settings).
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
