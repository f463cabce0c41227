#!/usr/bin/env bash
# Check the README's promise from scratch: clone the repository into a temporary directory, run
# the commands of its "Two commands" block exactly as written (in the clone, with nothing
# installed there), then check that the demo wrote its report and the figures the report shows.
#
#   scripts/check_readme.sh                 # every command of the block (make demo, make test)
#   scripts/check_readme.sh --only demo     # only the commands containing "demo"
#   KEEP=1 scripts/check_readme.sh ...      # keep the clone (its path is printed)
#
# The clone is of the committed state (HEAD of this checkout, or REPO=URL/PATH). Exit status:
# 0 when every command succeeded and the report exists; the failing command's otherwise.
set -euo pipefail

only=""
if [[ "${1:-}" == "--only" ]]; then
    only="${2:?--only needs a word, e.g. demo}"
fi
repo="${REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
work="$(mktemp -d "${TMPDIR:-/tmp}/seqjepa-readme.XXXXXX")"
cleanup() {
    if [[ -z "${KEEP:-}" ]]; then rm -rf "$work"; else echo "kept $work"; fi
}
trap cleanup EXIT

git clone --quiet "$repo" "$work/seqjepa"
cd "$work/seqjepa"
echo "clone: $work/seqjepa ($(git rev-parse --short HEAD))"

# The first ```bash block after "## Two commands", one command per line, comments dropped.
mapfile -t commands < <(
    awk '/^## Two commands/ {s = 1} s && /^```bash/ {b = 1; next} b && /^```/ {exit} b {print}' \
        README.md | sed -e 's/[[:space:]]#.*$//' -e 's/[[:space:]]*$//' | grep -v '^$'
)
if [[ ${#commands[@]} -eq 0 ]]; then
    echo "check_readme: no commands found under '## Two commands' in README.md" >&2
    exit 1
fi

demo_log=""
for cmd in "${commands[@]}"; do
    if [[ -n "$only" && "$cmd" != *"$only"* ]]; then
        echo "skip: $cmd"
        continue
    fi
    log="$work/$(echo "$cmd" | tr -c 'a-zA-Z0-9' '_').log"
    echo "run:  $cmd   (log: $log)"
    start=$(date +%s)
    if ! bash -c "$cmd" > >(tee "$log") 2>&1; then
        echo "check_readme: '$cmd' failed after $(($(date +%s) - start)) s" >&2
        exit 1
    fi
    echo "ok:   $cmd in $(($(date +%s) - start)) s"
    [[ "$cmd" == *demo* ]] && demo_log="$log"
done

if [[ -n "$demo_log" ]]; then
    report="$(sed -n 's/^report: //p' "$demo_log" | tail -n 1)"
    if [[ -z "$report" || ! -s "$report" ]]; then
        echo "check_readme: the demo printed no report path, or '$report' is missing/empty" >&2
        exit 1
    fi
    missing=0
    while read -r figure; do
        if [[ ! -s "$(dirname "$report")/$figure" ]]; then
            echo "check_readme: $report shows $figure, which is missing" >&2
            missing=1
        fi
    done < <(sed -n 's/^!\[[^]]*\](\([^)]*\))$/\1/p' "$report")
    [[ $missing -eq 0 ]] || exit 1
    echo "report: $report ($(grep -c '^!\[' "$report") figures) — README commands OK"
fi
