"""examples/custom_collector: a user collector's metrics and the system part
land in one snapshot."""
import json
import subprocess
import sys

out = subprocess.run([sys.argv[1]], capture_output=True, text=True, check=True, timeout=30).stdout
snap = json.loads(out)
assert snap["metrics"]["entropy.runs"] == 1, snap["metrics"]
assert snap["metrics"]["entropy.available_bits"] > 0, snap["metrics"]
assert snap["host"]["cpu_logical"] >= 1
assert snap["processes"] is None
print("custom collector example ok")
