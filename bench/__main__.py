"""`python -m bench [--quick | --tiny]`: run every benchmark in bench/, each in its own process."""
import subprocess
import sys
from pathlib import Path


def main() -> int:
    flags = [flag for flag in ("--quick", "--tiny") if flag in sys.argv[1:]]
    failed = []
    for script in sorted(Path(__file__).parent.glob("bench_*.py")):
        print(f"\n=== {script.stem} ===", flush=True)
        if subprocess.run([sys.executable, str(script), *flags]).returncode != 0:
            failed.append(script.stem)
    if failed:
        print(f"\ntargets missed or errors in: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
