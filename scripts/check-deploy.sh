#!/usr/bin/env bash
# Validates the docker compose system without a Docker engine: Prometheus config and alert rules
# (promtool check + unit tests), Alertmanager config (amtool), Grafana provisioning and dashboard,
# the healthcheck script and `docker-compose config`. Installs promtool / amtool / docker-compose
# from Debian's packages when missing. Exits non-zero when any check fails.
# Usage: bash scripts/check-deploy.sh   (from anywhere; called by .ci/run)
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

passed=0
failed=0
failures=()

log() { printf '%s\n' "$*"; }

# run NAME CMD...: runs one check, prints its output only when it fails.
run() {
  local name="$1"
  shift
  local out
  if out="$("$@" 2>&1)"; then
    passed=$((passed + 1))
    log "PASS  $name"
  else
    failed=$((failed + 1))
    failures+=("$name")
    log "FAIL  $name"
    printf '%s\n' "$out" | sed 's/^/      /'
  fi
}

APT_UPDATED=0
apt_install() {
  if ! command -v apt-get >/dev/null 2>&1; then
    log "apt-get not available; cannot install $*"
    return 1
  fi
  local sudo=''
  [ "$(id -u)" -ne 0 ] && sudo='sudo'
  # Try without `apt-get update` first: the lists on the machine are usually recent enough.
  if ! DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >/tmp/check-deploy-apt.log 2>&1; then
    if [ "$APT_UPDATED" -eq 0 ]; then
      $sudo apt-get update -qq >>/tmp/check-deploy-apt.log 2>&1 || true
      APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >>/tmp/check-deploy-apt.log 2>&1 || {
      tail -20 /tmp/check-deploy-apt.log
      return 1
    }
  fi
}

# ensure BINARY PACKAGE: installs PACKAGE when BINARY is not on PATH.
ensure() {
  command -v "$1" >/dev/null 2>&1 && return 0
  log "installing $2 (for $1)..."
  apt_install "$2" && command -v "$1" >/dev/null 2>&1
}

# --- tools -----------------------------------------------------------------------------------
ensure promtool prometheus || { log "FAIL  promtool is not available"; exit 1; }
ensure amtool prometheus-alertmanager || log "WARN  amtool not available: Alertmanager config not checked"

COMPOSE=()
if docker compose version >/dev/null 2>&1; then
  COMPOSE=(docker compose)
elif command -v docker-compose >/dev/null 2>&1 || ensure docker-compose docker-compose; then
  COMPOSE=(docker-compose)
else
  log "FAIL  neither 'docker compose' nor docker-compose is available"
  exit 1
fi

PY=''
for candidate in /usr/bin/python3 python3; do
  if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import yaml' >/dev/null 2>&1; then
    PY="$candidate"
    break
  fi
done
if [ -z "$PY" ] && apt_install python3-yaml && /usr/bin/python3 -c 'import yaml' >/dev/null 2>&1; then
  PY=/usr/bin/python3
fi
[ -z "$PY" ] && log "WARN  no python3 with PyYAML: Grafana provisioning YAML not parsed"

log "tools: $(promtool --version 2>&1 | head -1)"
log "       ${COMPOSE[*]}: $("${COMPOSE[@]}" version 2>&1 | head -1)"

# --- Prometheus --------------------------------------------------------------------------------
run 'promtool check config deploy/prometheus/prometheus.yml' \
  promtool check config deploy/prometheus/prometheus.yml
run 'promtool check rules deploy/prometheus/alerts.yml' \
  promtool check rules deploy/prometheus/alerts.yml
# rule_files in the test file are relative to it.
run 'promtool test rules deploy/prometheus/alerts.test.yml' \
  bash -c 'cd deploy/prometheus && promtool test rules alerts.test.yml'

# Every alert of alerts.yml must have at least one firing case in alerts.test.yml.
check_alerts_tested() {
  local missing=0 alert
  for alert in $(sed -n 's/^ *- alert: *\([A-Za-z0-9_]*\).*/\1/p' deploy/prometheus/alerts.yml); do
    if ! grep -Eq "^ *alertname: *${alert}\$" deploy/prometheus/alerts.test.yml; then
      echo "alert $alert has no test in alerts.test.yml"
      missing=1
    fi
  done
  return "$missing"
}
run 'every alert has a unit test' check_alerts_tested

# --- Alertmanager ----------------------------------------------------------------------------
if command -v amtool >/dev/null 2>&1; then
  run 'amtool check-config deploy/alertmanager/alertmanager.yml' \
    amtool check-config deploy/alertmanager/alertmanager.yml
fi

# --- Grafana -----------------------------------------------------------------------------------
DASHBOARD=deploy/grafana/dashboards/resilience.json
run "json valid: $DASHBOARD" python3 -m json.tool "$DASHBOARD"

if [ -n "$PY" ]; then
  run 'grafana provisioning YAML parses' "$PY" -c '
import sys, yaml, glob
files = glob.glob("deploy/grafana/provisioning/**/*.yml", recursive=True)
assert files, "no provisioning files"
for f in files:
    doc = yaml.safe_load(open(f))
    assert doc.get("apiVersion") == 1, f + ": apiVersion must be 1"
print("\n".join(files))
'
fi

# Structure: the state mapping, the datasource uid, and every query parses as PromQL (each one
# becomes a recording rule in a temp file that promtool checks).
check_dashboard() {
  local tmp rc
  tmp="$(mktemp -d)"
  python3 - "$DASHBOARD" "$tmp/queries.yml" <<'PYEOF' || { rm -rf "$tmp"; return 1; }
import json, sys
dash = json.load(open(sys.argv[1]))
errors = []
panels = [p for p in dash["panels"] if p["type"] != "row"]
ids = [p["id"] for p in dash["panels"]]
if len(ids) != len(set(ids)):
    errors.append("panel ids are not unique")
timelines = [p for p in panels if p["type"] == "state-timeline"]
if not timelines:
    errors.append("no state-timeline panel")
for p in timelines:
    opts = p["fieldConfig"]["defaults"]["mappings"][0]["options"]
    got = {k: v["text"] for k, v in opts.items()}
    if got != {"0": "CLOSED", "1": "HALF-OPEN", "2": "OPEN"}:
        errors.append(f"{p['title']}: state mapping is {got}")
wanted = ["circuit_breaker_state", "circuit_breaker_requests_total", "circuit_breaker_transitions_total",
          "circuit_breaker_call_duration_seconds_bucket", "stale_cache_lookups_total", "provider_failovers_total",
          "deferred_queue_depth", "deferred_queue_oldest_pending_age_seconds", "orders_total",
          "order_degraded_answers_total"]
exprs = []
for p in panels:
    for t in p.get("targets", []):
        if t.get("datasource", {}).get("uid") != "prometheus":
            errors.append(f"{p['title']}: target datasource is not uid 'prometheus'")
        exprs.append((p["title"], t["expr"]))
    if p.get("datasource", {}).get("uid") != "prometheus":
        errors.append(f"{p['title']}: panel datasource is not uid 'prometheus'")
text = " ".join(e for _, e in exprs)
for metric in wanted:
    if metric not in text:
        errors.append(f"no panel queries {metric}")
with open(sys.argv[2], "w") as out:
    out.write("groups:\n  - name: dashboard\n    rules:\n")
    for i, (title, expr) in enumerate(exprs):
        expr = (expr.replace("$__rate_interval", "1m").replace("$service", ".*").replace("$breaker", ".*"))
        out.write(f"      - record: dashboard:query_{i}\n        expr: {json.dumps(expr)}\n")
for e in errors:
    print(e)
print(f"{len(panels)} panels, {len(exprs)} queries")
sys.exit(1 if errors else 0)
PYEOF
  promtool check rules "$tmp/queries.yml"
  rc=$?
  rm -rf "$tmp"
  return "$rc"
}
run 'dashboard structure and PromQL of every panel' check_dashboard

# --- images and compose ----------------------------------------------------------------------
run 'node --check deploy/docker/healthcheck.js' node --check deploy/docker/healthcheck.js

check_dockerfile() {
  local ok=0
  grep -Eq '^USER +[a-z]' Dockerfile || { echo 'Dockerfile: no non-root USER'; ok=1; }
  grep -Eq '^HEALTHCHECK ' Dockerfile || { echo 'Dockerfile: no HEALTHCHECK'; ok=1; }
  grep -Eq 'npm ci --omit=dev' Dockerfile || { echo 'Dockerfile: runtime deps not pruned'; ok=1; }
  [ "$(grep -Ec '^FROM ' Dockerfile)" -ge 3 ] || { echo 'Dockerfile: not multi-stage'; ok=1; }
  return "$ok"
}
run 'Dockerfile: multi-stage, non-root, healthcheck' check_dockerfile

run "${COMPOSE[*]} config -q" "${COMPOSE[@]}" -f docker-compose.yml config -q

# Every process compose starts is an app of this repository, and every mounted path exists.
check_compose_refs() {
  local ok=0 entry app src path
  for entry in $(grep -Eo 'dist/apps/[a-z0-9-]+/src/main\.js' docker-compose.yml | sort -u); do
    app="${entry#dist/apps/}"
    app="${app%%/*}"
    src="apps/$app/src/main.ts"
    [ -f "$src" ] || { echo "compose starts $entry but $src does not exist"; ok=1; }
  done
  for path in $(grep -Eo '\./deploy/[A-Za-z0-9_./-]+' docker-compose.yml | sort -u); do
    [ -e "$path" ] || { echo "compose mounts $path, which does not exist"; ok=1; }
  done
  return "$ok"
}
run 'compose: entry points and mounted paths exist' check_compose_refs

log ''
if [ "$failed" -gt 0 ]; then
  log "failed: ${failures[*]}"
fi
log "check-deploy: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
