#!/bin/sh
# Copies the torture corpus (tests/torture/*.sip, placeholders filled in) into
# fuzz/corpus/<target>/ as seeds. Run from the repository root or from fuzz/.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
for target in parse_datagram stream_framer; do
    mkdir -p "$here/corpus/$target"
    for f in "$here"/../tests/torture/*.sip; do
        out="$here/corpus/$target/seed-$(basename "$f" .sip)"
        LC_ALL=C sed \
            -e 's#{via}#SIP/2.0/UDP 127.0.0.1:40000;branch=z9hG4bK-seed;rport#g' \
            -e 's#{transport}#UDP#g' -e 's#{local}#127.0.0.1:40000#g' -e 's#{port}#40000#g' \
            -e 's#{server}#127.0.0.1:5060#g' -e 's#{callid}#seed@127.0.0.1#g' \
            -e 's#{branch}#z9hG4bK-seed#g' "$f" > "$out.tmp"
        if [ "$target" = stream_framer ]; then
            # First byte = piece size selector for the split push.
            { printf '\007'; cat "$out.tmp"; } > "$out"
            rm "$out.tmp"
        else
            mv "$out.tmp" "$out"
        fi
    done
done
