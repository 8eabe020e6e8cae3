# Sourced by the test script: the outside checkers of the REST API, run against a real
# server (and standardwebhooks, with which the webhook tests' receiver verifies deliveries). ac_install puts them in a virtual env in target/api-checkers (scripts/setup.sh
# --test calls it); api_checks starts the server binary it is given on a throw-away SQLite
# folder with the demo's accounts, makes an API key with every scope (`tally api-key`), then:
#   - openapi-spec-validator validates /v1/openapi.json (OpenAPI 3.1);
#   - schemathesis runs every operation of /v1 with that key: no server error, and every
#     answer's status, content type, headers and body as the document says;
#   - scim2-tester runs every check of /scim/v2 with a SCIM token of a new account
#     (scripts/scim_check.py): each must pass.
# factur-x, saxonche and fonttools are for the integration tests: they check sample e-invoices with the
# EN 16931 Schematron (server/tests/api/data/einvoice_check.py) and their PDFs against the
# PDF/A-3B rules (pdfa_check.py).

API_CHECKERS_PACKAGES="schemathesis==4.32.5 openapi-spec-validator==0.9.0 standardwebhooks==1.3.0 scim2-tester==0.5.2 scim2-client==0.13.2 scim2-models==0.12.3 httpx2==2.17.0 factur-x==7.8 saxonche==13.1.1 fonttools==4.60.1"
# Test cases per operation and phase: bounded so the checkers stay within a few minutes.
API_CHECKS_EXAMPLES=${API_CHECKS_EXAMPLES:-40}

ac_venv() {
  echo "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/target/api-checkers"
}

ac_install() {
  local venv
  venv=$(ac_venv)
  if [ -f "$venv/installed" ] && [ "$(cat "$venv/installed")" = "$API_CHECKERS_PACKAGES" ]; then
    return 0
  fi
  python3 -m venv "$venv"
  # shellcheck disable=SC2086
  "$venv/bin/pip" install --quiet --disable-pip-version-check $API_CHECKERS_PACKAGES
  echo "$API_CHECKERS_PACKAGES" >"$venv/installed"
}

# api_checks BINARY SITE_ROOT
api_checks() {
  local bin=$1 site=$2 venv dir port base key pid status=0
  venv=$(ac_venv)
  if [ ! -x "$venv/bin/schemathesis" ]; then
    echo "api_checks.sh: the checkers are not installed (scripts/setup.sh --test installs them)" >&2
    return 1
  fi
  dir=$(mktemp -d /tmp/tally-api-checks.XXXXXX)
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  base="http://127.0.0.1:$port"
  export_env() {
    env -i PATH="$PATH" HOME="$HOME" TALLY_DATA_DIR="$dir/data" TALLY_ADDR="127.0.0.1:$port" \
      TALLY_PUBLIC_URL="$base" LEPTOS_SITE_ROOT="$site" TALLY_BILLING_SCHEDULER=false \
      RUST_LOG=warn "$@"
  }
  key=$(export_env "$bin" api-key --name "API checks" --scope accounts:read --scope accounts:write \
    --scope users:read --scope users:write --scope invoices:read --scope credit_notes:write 2>/dev/null)
  export_env TALLY_DEMO=1 "$bin" >"$dir/server.log" 2>&1 &
  pid=$!
  local i
  for i in $(seq 1 300); do
    curl -fs -o /dev/null "$base/healthz" && break
    sleep 0.1
  done
  if ! curl -fs -o "$dir/openapi.json" "$base/v1/openapi.json"; then
    echo "api_checks.sh: the server did not answer; its log:" >&2
    cat "$dir/server.log" >&2
    kill "$pid" 2>/dev/null || true
    return 1
  fi
  echo "openapi-spec-validator: /v1/openapi.json"
  "$venv/bin/openapi-spec-validator" "$dir/openapi.json" || status=1
  if [ "$status" = 0 ]; then
    echo "schemathesis: every operation of /v1, $API_CHECKS_EXAMPLES examples each"
    (cd "$dir" && "$venv/bin/schemathesis" run "$dir/openapi.json" --url "$base" \
      -H "Authorization: Bearer $key" \
      --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
      --max-examples "$API_CHECKS_EXAMPLES" --seed 1 --workers 1 --no-color \
      --generation-database none) || status=1
  fi
  if [ "$status" = 0 ]; then
    echo "scim2-tester: /scim/v2 with a SCIM token of a new account"
    local account token
    account=$(curl -fs -X POST "$base/v1/accounts" -H "Authorization: Bearer $key" \
      -H "Content-Type: application/json" \
      -d '{"company_name": "SCIM checks", "administrator": {"first_name": "Sam", "last_name": "Checks", "email": "sam@scim-checks.test"}}' |
      "$venv/bin/python" -c 'import json, sys; print(json.load(sys.stdin)["id"])') || status=1
    if [ "$status" = 0 ]; then
      token=$(export_env "$bin" scim-token --account "$account" 2>/dev/null) || status=1
    fi
    if [ "$status" = 0 ]; then
      "$venv/bin/python" "$(dirname "${BASH_SOURCE[0]}")/scim_check.py" "$base/scim/v2" "$token" || status=1
    fi
  fi
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  if [ "$status" != 0 ]; then
    echo "api_checks.sh: the server's log:" >&2
    tail -50 "$dir/server.log" >&2
  fi
  rm -rf "$dir"
  return "$status"
}
