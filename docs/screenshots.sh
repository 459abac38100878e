#!/usr/bin/env bash
# Screenshots of what a person reads by email, linked from the README: one alert email (the
# demo's first setup, its HTML part with the chart of its moment) at desktop and phone width, and
# the demo's daily summary of 2025-03-26 (with its text part and board), as headless Chromium
# renders them. Made from the bundled recordings only (no network but apt). Not run by CI: run it by hand after a layout change and
# look at the PNGs before committing them. Installs Debian's chromium when it is missing (root).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null; then
    apt-get update
    apt-get install -y --no-install-recommends chromium fonts-dejavu-core
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The alert email's HTML and its chart: the email snapshot test writes them when asked to.
LIQWAVE_DOCS_DIR="$work/alert" cargo test --locked --test it email::read::email_html_of_a_setup
cargo run --locked --quiet -- summary --config config/demo.toml --day 2025-03-26 \
    --out "$work/summary"

# shot HTML WIDTH,HEIGHT PNG: the window is the picture (Chromium's CLI has no full-page mode).
shot() {
    chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --force-device-scale-factor=1 \
        --window-size="$2" --screenshot="$3" "file://$1" 2>/dev/null
    echo "wrote $3"
}
shot "$work/alert/alert-email.html" 840,1200 docs/email-alert.png
shot "$work/alert/alert-email.html" 400,1150 docs/email-alert-400px.png
shot "$work/summary/summary.html" 840,3680 tests/fixtures/examples/summary-2025-03-26.png
cp "$work/summary/summary.txt" tests/fixtures/examples/summary-2025-03-26.txt
cp "$work/summary/board.png" tests/fixtures/examples/board-2025-03-26.png
