#!/usr/bin/env bash
# Tests the editor support, each with the real editor, headless:
#   - Vim: filetype detection, highlight groups at known places, indentation, and :make
#     (the compiler plugin) filling the quickfix list from `ipvsc check --format short`;
#   - Neovim: a client of `ipvsc lsp` receiving the diagnostics of a file with errors;
#   - Emacs: ipvs-mode byte-compiles without warnings, and its ERT tests (font-lock, comments,
#     indentation, the Flymake backend);
#   - VS Code: the TextMate grammar against the annotated files in editors/vscode/test/
#     (vscode-tmgrammar-test), the extension's wiring (node --test), and `vsce package`;
#   - the Rust tests of the language server and of keyword coverage (tests/lsp.rs,
#     tests/editors.rs).
# Installs what it needs (Debian's vim, neovim, emacs-nox, nodejs, npm; the npm packages locally
# from editors/vscode/package-lock.json), runs everything, and exits 1 if anything failed.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
began=$SECONDS

# ---- what the tests need --------------------------------------------------------------------

missing=()
for pkg in vim neovim emacs-nox; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$pkg")
    fi
done
# Debian's nodejs and npm, unless Node.js is already there: NodeSource's nodejs package brings
# its own npm and conflicts with Debian's.
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
if ((${#missing[@]})); then
    echo "== editors: installing ${missing[*]}"
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
fi
node_major=$(node -p 'process.versions.node.split(".")[0]')
if ((node_major < 18)); then
    echo "editors/test.sh: Node.js $(node --version) is too old: node --test and @vscode/vsce need 18 or later" >&2
    exit 1
fi

echo "== editors: building ipvsc"
cargo build --quiet --bin ipvsc
target=${CARGO_TARGET_DIR:-$root/target}
export IPVSC=$target/debug/ipvsc
export PATH=$target/debug:$PATH
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# ---- the tests ------------------------------------------------------------------------------
# Each is a function whose every step ends in `|| return 1`: `set -e` does not apply inside a
# function called as a condition.

test_vim() {
    timeout 120 vim -N -u NONE -i NONE -n -es -S editors/vim/test/run.vim </dev/null ||
        return 1
}

test_neovim_lsp() {
    local out=$scratch/nvim-diagnostics.txt
    OUT=$out timeout 120 nvim --headless --clean -n -c 'luafile editors/vim/test/lsp.lua' \
        </dev/null || { cat "$out" 2>/dev/null; return 1; }
    diff -u editors/vim/test/lsp.expected "$out" || return 1
    echo "neovim: $(wc -l <"$out") diagnostics from ipvsc lsp, as expected"
}

test_emacs() {
    cp editors/emacs/ipvs-mode.el "$scratch/" || return 1
    timeout 120 emacs --batch -Q --eval '(setq byte-compile-error-on-warn t)' \
        -f batch-byte-compile "$scratch/ipvs-mode.el" || return 1
    timeout 120 emacs --batch -Q -L editors/emacs -l editors/emacs/ipvs-mode-tests.el \
        -f ert-run-tests-batch-and-exit || return 1
}

test_vscode() {
    (
        cd editors/vscode || exit 1
        # No install scripts: nothing here needs one (they only fetch keytar and vsce-sign
        # binaries, which packaging does not use).
        timeout 300 npm ci --no-audit --no-fund --ignore-scripts --loglevel=error || exit 1
        npx --no-install vscode-tmgrammar-test 'test/*.test.ipvs' || exit 1
        node --test test/extension.test.js || exit 1
        npx --no-install vsce package --out "$scratch/ipvs.vsix" || exit 1
        files=$(npx --no-install vsce ls) || exit 1
        for f in extension.js package.json language-configuration.json snippets/ipvs.json \
            syntaxes/ipvs.tmLanguage.json LICENSE README.md \
            node_modules/vscode-languageclient/package.json; do
            grep -qx "$f" <<<"$files" || { echo "the package lacks $f" >&2; exit 1; }
        done
        [[ -s $scratch/ipvs.vsix ]] || exit 1
    ) || return 1
}

test_rust() {
    cargo test --quiet --test lsp --test editors || return 1
}

passed=0
failed=()
for t in vim neovim_lsp emacs vscode rust; do
    echo "== editors: $t"
    start=$SECONDS
    if "test_$t"; then
        passed=$((passed + 1))
        echo "-- $t: ok ($((SECONDS - start)) s)"
    else
        failed+=("$t")
        echo "-- $t: FAILED ($((SECONDS - start)) s)"
    fi
done

echo "== editors: done in $((SECONDS - began)) s${failed:+; failed: ${failed[*]}}"
echo "editors: $passed passed, ${#failed[@]} failed"
((${#failed[@]} == 0))
