#!/usr/bin/env bash
# Installs liqwave as a systemd service: the binary, the config (only if absent), the credential
# files (only if absent) and the unit. Safe to run again: an upgrade replaces the binary and the
# unit and never touches the operator's config or secrets. See deploy/RUNBOOK.md.
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: deploy/install.sh [--root DIR] [--no-build] [--binary PATH]

Installs liqwave under DIR (default /):
  DIR/usr/local/bin/liqwave                       the binary (replaced on every run)
  DIR/etc/liqwave/liqwave.toml                    from config/liqwave.toml, only if absent,
                                                  with store.path = "/var/lib/liqwave/db"
  DIR/etc/liqwave/credentials/                    mode 0700, only if absent
  DIR/etc/liqwave/credentials/telegram_token      empty, mode 0600, only if absent
  DIR/etc/liqwave/credentials/smtp_password       empty, mode 0600, only if absent
  DIR/etc/systemd/system/liqwave.service          the unit (replaced on every run)
With DIR = / it then runs `systemctl daemon-reload` and `systemctl enable liqwave` (it does not
start the service); with any other DIR it prints what to do instead.

Options:
  --root DIR      install into DIR instead of / (a scratch root, an image being built)
  --no-build      do not run `cargo build --release --locked`; use target/release/liqwave
  --binary PATH   install this binary instead (implies --no-build)
  -h, --help      show this help

Build as yourself and install as root, so root needs no Rust toolchain:
  cargo build --release --locked && sudo deploy/install.sh --no-build
EOF
}

say() { printf 'install.sh: %s\n' "$*"; }
die() {
    printf 'install.sh: error: %s\n' "$*" >&2
    exit 1
}
usage_error() {
    printf 'install.sh: %s (see --help)\n' "$*" >&2
    exit 2
}

repo="$(cd "$(dirname "$0")/.." && pwd)"
root=/
build=yes
binary=

while [ $# -gt 0 ]; do
    case "$1" in
    --root)
        [ $# -ge 2 ] || usage_error "--root needs a directory"
        root="$2"
        shift 2
        ;;
    --root=*)
        root="${1#--root=}"
        shift
        ;;
    --no-build)
        build=no
        shift
        ;;
    --binary)
        [ $# -ge 2 ] || usage_error "--binary needs a path"
        binary="$2"
        build=no
        shift 2
        ;;
    --binary=*)
        binary="${1#--binary=}"
        build=no
        shift
        ;;
    -h | --help)
        usage
        exit 0
        ;;
    *) usage_error "unknown argument: $1" ;;
    esac
done

[ -n "$root" ] || usage_error "--root must not be empty"
[ -d "$root" ] || die "the root $root is not a directory"
root="$(cd "$root" && pwd)"
# Every installed path is "$dest/…"; "" for / so messages show /etc/… rather than //etc/….
if [ "$root" = / ]; then dest=""; else dest="$root"; fi

unit_src="$repo/systemd/liqwave.service"
config_src="$repo/config/liqwave.toml"
[ -f "$unit_src" ] || die "$unit_src is missing: run this script from a liqwave checkout"
[ -f "$config_src" ] || die "$config_src is missing: run this script from a liqwave checkout"

if [ "$root" = / ] && [ "$(id -u)" -ne 0 ]; then
    die "installing into / needs root: run it with sudo, or use --root DIR for a scratch root"
fi

# 1. The binary.
if [ "$build" = yes ]; then
    command -v cargo >/dev/null 2>&1 ||
        die "cargo is not on PATH; build first and pass --no-build (see --help)"
    say "building: cargo build --release --locked"
    (cd "$repo" && cargo build --release --locked)
fi
if [ -z "$binary" ]; then
    binary="${CARGO_TARGET_DIR:-$repo/target}/release/liqwave"
fi
[ -f "$binary" ] && [ -x "$binary" ] || die "no executable binary at $binary"
# The service's own check, before anything is installed: a broken binary changes nothing.
"$binary" --version >/dev/null || die "$binary --version failed"

install -d -m 0755 "$dest/usr/local/bin"
# Copy next to the target and rename over it: atomic, and works while the old binary runs.
install -m 0755 "$binary" "$dest/usr/local/bin/.liqwave.new"
mv -f "$dest/usr/local/bin/.liqwave.new" "$dest/usr/local/bin/liqwave"
say "installed $dest/usr/local/bin/liqwave ($("$dest/usr/local/bin/liqwave" --version))"

# 2. The config: never overwrite the operator's.
install -d -m 0755 "$dest/etc/liqwave"
config="$dest/etc/liqwave/liqwave.toml"
if [ -e "$config" ]; then
    say "kept $config (exists; compare with $config_src after an upgrade)"
else
    # The example keeps state in memory unless [store] path is set; the daemon needs its store
    # in the unit's StateDirectory, so uncomment the example's own suggestion.
    tmp="$dest/etc/liqwave/.liqwave.toml.new"
    awk '
        /^\[/ { section = $0 }
        section == "[store]" && !done && /^# path = "\/var\/lib\/liqwave\/[^"]*"$/ {
            sub(/^# /, ""); done = 1
        }
        { print }
        END { if (!done) exit 3 }
    ' "$config_src" >"$tmp" || {
        rm -f "$tmp"
        die "could not find the [store] path line in $config_src"
    }
    chmod 0644 "$tmp"
    mv "$tmp" "$config"
    say "created $config (edit it: symbols, sinks, chat ids; store.path = \"/var/lib/liqwave/db\")"
fi

# 3. The credentials: root-only files that systemd hands to the service (LoadCredential=).
creds="$dest/etc/liqwave/credentials"
if [ -d "$creds" ]; then
    say "kept $creds (exists)"
    case "$(stat -c %a "$creds")" in
    700 | 500) ;;
    *) say "warning: $creds is mode $(stat -c %a "$creds"); secrets belong in a 0700 directory" ;;
    esac
else
    install -d -m 0700 "$creds"
    say "created $creds (mode 0700)"
fi
for name in telegram_token smtp_password; do
    file="$creds/$name"
    if [ -e "$file" ]; then
        say "kept $file (exists)"
    else
        (umask 077 && : >"$file")
        chmod 0600 "$file"
        say "created $file (empty, mode 0600)"
    fi
done

# 4. The unit: replaced, so an upgrade brings its hardening along; local changes go in drop-ins.
unit="$dest/etc/systemd/system/liqwave.service"
install -d -m 0755 "$dest/etc/systemd/system"
if [ -f "$unit" ] && cmp -s "$unit_src" "$unit"; then
    say "kept $unit (unchanged)"
else
    install -m 0644 "$unit_src" "$unit.new"
    mv -f "$unit.new" "$unit"
    say "installed $unit"
fi

# 5. systemd itself, only for the real root and a running systemd.
next_steps() {
    say "next: edit $config (symbols, sinks, chat ids),"
    say "      put the bot token in $creds/telegram_token and the SMTP password in"
    say "      $creds/smtp_password (see deploy/credentials.example), then"
    say "      systemctl start liqwave && journalctl -u liqwave -f"
}
if [ "$root" != / ]; then
    say "installed into $root; systemd not touched. On the target system run"
    say "      systemctl daemon-reload && systemctl enable liqwave"
    next_steps
elif [ ! -d /run/systemd/system ]; then
    say "systemd is not running here; on the booted system run"
    say "      systemctl daemon-reload && systemctl enable liqwave"
    next_steps
else
    systemctl daemon-reload
    systemctl enable liqwave
    say "enabled liqwave.service (not started yet)"
    next_steps
fi
