"""Runs scim2-tester (PyPI) against a SCIM server and fails on any check that did not pass.

    python scim_check.py BASE_URL TOKEN

BASE_URL is the SCIM root (http://…/scim/v2); TOKEN a SCIM token of a customer account. Every
check scim2-tester runs for the features the server's ServiceProviderConfig declares must end
in SUCCESS, COMPLIANT or ACCEPTABLE; a check skipped because the server does not declare the
feature (bulk, sort, etag…) is listed, not failed.
"""

import sys
from collections import Counter

import httpx2
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

PASSED = {Status.SUCCESS, Status.COMPLIANT, Status.ACCEPTABLE}


def main() -> int:
    base, token = sys.argv[1], sys.argv[2]
    http = httpx2.Client(
        base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    results = check_server(SyncSCIMClient(http), raise_exceptions=False)
    counts = Counter(r.status.name for r in results)
    failed = [r for r in results if r.status not in PASSED and r.status != Status.SKIPPED]
    for r in results:
        if r.status == Status.SKIPPED:
            print(f"  skipped  {r.title}: {r.reason}")
    for r in failed:
        print(f"  {r.status.name}  {r.title} ({r.resource_type or ''}): {r.reason}")
    print(f"scim2-tester: {len(results)} checks, {dict(counts)}")
    return 1 if failed or not results else 0


if __name__ == "__main__":
    sys.exit(main())
