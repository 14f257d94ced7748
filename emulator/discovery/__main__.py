"""`python -m emulator.discovery ...`: the same as `wkp-emu discovery ...`."""
import argparse
import sys

from .command import add_parser


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m emulator.discovery")
    add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["discovery", *(sys.argv[1:] if argv is None else argv)])
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
