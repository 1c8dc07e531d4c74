#!/usr/bin/env bash
# Runs stylize on a case-insensitive disk (cifs.py, a FUSE file system
# like an SD card's FAT or a Mac's APFS) with outputs named like its
# inputs, or like each other, in other letter case. Every run must be
# refused and leave every file on the disk as it was.
#
# usage: reference/case-insensitive/check.sh STYLIZE WEIGHTS
# needs: root (or FUSE mounts allowed), /dev/fuse, libfuse3,
#        pip install mfusepy==3.1.1
set -u
stylize=$(realpath "$1")
weights=$(realpath "$2")
here=$(dirname "$(realpath "$0")")
images=$(realpath "$here/../../assets/images")
work=$(mktemp -d)
mkdir -p "$work/backing" "$work/mnt"
python3 "$here/cifs.py" "$work/backing" "$work/mnt" >"$work/fs.log" 2>&1 &
fs=$!
trap 'fusermount3 -u "$work/mnt" 2>/dev/null || umount "$work/mnt" 2>/dev/null; kill $fs 2>/dev/null; wait $fs; rm -rf "$work"' EXIT
for _ in $(seq 50); do mountpoint -q "$work/mnt" && break; sleep 0.1; done
mountpoint -q "$work/mnt" || { echo "cifs.py did not mount:"; cat "$work/fs.log"; exit 2; }

m=$work/mnt
seed() {
    rm -rf "${m:?}"/* && mkdir "$m/DCIM" "$m/Frames"
    cp "$images/chelsea.jpg" "$m/Photo.jpg"
    cp "$images/udnie.jpg" "$m/style.jpg"
    cp "$images/chelsea.jpg" "$m/DCIM/IMG_0001.JPG"
    for i in 1 2 3; do cp "$images/chelsea.jpg" "$m/Frames/frame_00$i.jpg"; done
}
quick=(--size 48 --iterations 2 --threads 1)
failed=0
case_of() {
    local name=$1; shift
    seed
    if ! eval "${setup:-}"; then
        echo "FAILED  $name (its set-up failed)"
        failed=1
        return
    fi
    local before after
    before=$(cd "$m" && find . -type f -exec sha256sum {} + | sort)
    "$stylize" "$@" >"$work/out.txt" 2>&1
    local rc=$?
    after=$(cd "$m" && find . -type f -exec sha256sum {} + | sort)
    # Refused: exit 1 with stylize's own error, nothing written.
    if [ $rc -eq 1 ] && grep -q "^error: invalid --\|^error: output .* is inside the input folder" "$work/out.txt" \
        && [ "$before" = "$after" ]; then
        echo "ok      $name: $(grep -m1 error: "$work/out.txt")"
    else
        echo "FAILED  $name (exit $rc; files on the disk $([ "$before" = "$after" ] && echo unchanged || echo written or changed))"
        failed=1
    fi
}
case_of "output is the photo in other case" image --weights "$weights" -c "$m/Photo.jpg" -s "$m/style.jpg" -o "$m/photo.JPG" "${quick[@]}"
case_of "output is the style in other case" image --weights "$weights" -c "$m/Photo.jpg" -s "$m/style.jpg" -o "$m/STYLE.jpg" "${quick[@]}"
case_of "output folder is the photos' in other case" image --weights "$weights" -c "$m/DCIM" -s "$m/style.jpg" -o "$m/dcim" "${quick[@]}"
case_of "plot is the output in other case" image --weights "$weights" -c "$m/Photo.jpg" -s "$m/style.jpg" -o "$m/r.png" --plot "$m/R.PNG" "${quick[@]}"
case_of "plot is a snapshot in other case" image --weights "$weights" -c "$m/Photo.jpg" -s "$m/style.jpg" -o "$m/r.png" --save-every 1 --plot "$m/R.0001.PNG" "${quick[@]}"
setup='ln -s "$m/style.jpg" "$m/R.0001.PNG"' \
    case_of "a snapshot that is a link to the style in other case" image --weights "$weights" -c "$m/Photo.jpg" -s "$m/style.jpg" -o "$m/r.png" --save-every 1 "${quick[@]}"
# Photos on a case-sensitive disk (two names, two photos), painted onto
# this one.
setup='rm -rf "$work/cs" && mkdir "$work/cs" && cp "$images/chelsea.jpg" "$work/cs/IMG.jpg" && cp "$images/coffee.jpg" "$work/cs/img.jpg"' \
    case_of "two photos painted to one name in other case" image --weights "$weights" -c "$work/cs" -s "$m/style.jpg" -o "$m/out" "${quick[@]}"
case_of "video inside its frame folder in other case" video --weights "$weights" -i "$m/Frames" -s "$m/style.jpg" -o "$m/frames/out.gif" --frame-iterations 1 "${quick[@]}"
case_of "video report is the output in other case" video --weights "$weights" -i "$m/Frames" -s "$m/style.jpg" -o "$m/a.gif" --report "$m/A.GIF" --frame-iterations 1 "${quick[@]}"
exit $failed
