# shellcheck shell=bash
# The pool as the tests look at it, whatever its backend: a directory
# (plain files) or a prefix in the S3 store (tests/s3-lib.sh, through a
# client independent of strata's). Paths are "$POOL/SUBPATH" either way.
# shellcheck source=s3-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/s3-lib.sh"

# flip_byte FILE OFFSET: xor one byte with 0xff (run twice to undo)
flip_byte() {
  python3 - "$1" "$2" <<'EOF'
import sys
f, off = sys.argv[1], int(sys.argv[2])
with open(f, "r+b") as fh:
    fh.seek(off); b = fh.read(1)
    fh.seek(off); fh.write(bytes([b[0] ^ 0xff]))
EOF
}

# pool_objects SUBDIR: every object below SUBDIR of the pool, as $POOL/PATH
# (a directory pool: its files; an S3 pool: its keys)
pool_objects() {
  case $POOL in
    s3://*) s3_pool_objects "$1" ;;
    *) find "$POOL/$1" -type f 2>/dev/null ;;
  esac
}
# pool_objects_sized SUBDIR: "SIZE $POOL/PATH" of every object below SUBDIR
pool_objects_sized() {
  case $POOL in
    s3://*) s3_tool list "$S3_PREFIX/$1/" | awk -F'\t' -v p="$S3_PREFIX/" -v r="$POOL/" \
              '{ k = $1; sub("^" p, r, k); print $2 " " k }' ;;
    *) find "$POOL/$1" -type f -printf '%s %p\n' 2>/dev/null ;;
  esac
}
# s3_key_of $POOL/PATH: the object's key in the bucket
s3_key_of() { echo "$S3_PREFIX/${1#"$POOL/"}"; }
# pool_object_size $POOL/PATH
pool_object_size() {
  case $POOL in
    s3://*) s3_tool list "$(s3_key_of "$1")" | awk -F'\t' -v k="$(s3_key_of "$1")" '$1 == k { print $2 }' ;;
    *) stat -c %s "$1" ;;
  esac
}
# pool_flip $POOL/PATH OFFSET: xor one byte of a pool object (twice: undone)
pool_flip() {
  case $POOL in
    s3://*) local tmp
            tmp=$(mktemp "${TMPDIR:-/tmp}/strata-flip.XXXXXX") || return 1
            s3_tool get "$(s3_key_of "$1")" "$tmp" && flip_byte "$tmp" "$2" &&
              s3_tool put "$tmp" "$(s3_key_of "$1")"
            local rc=$?
            rm -f "$tmp"
            return "$rc" ;;
    *) flip_byte "$1" "$2" ;;
  esac
}
# pool_take $POOL/PATH FILE: move a pool object out to FILE; pool_put_back FILE $POOL/PATH
pool_take() {
  case $POOL in
    s3://*) s3_tool get "$(s3_key_of "$1")" "$2" && s3_tool delete "$(s3_key_of "$1")" ;;
    *) mv "$1" "$2" ;;
  esac
}
pool_put_back() {
  case $POOL in
    s3://*) s3_tool put "$1" "$(s3_key_of "$2")" && rm -f "$1" ;;
    *) mv "$1" "$2" ;;
  esac
}
# pool_ls SUBDIR: the names one level below SUBDIR, sorted (objects and "directories")
pool_ls() {
  case $POOL in
    s3://*) s3_tool list "$S3_PREFIX/$1/" | cut -f1 | sed "s|^$S3_PREFIX/$1/||; s|/.*||" | sort -u ;;
    *) ls "$POOL/$1" 2>/dev/null ;;
  esac
}
# pool_has SUBPATH: an object, or a "directory" with objects below it
pool_has() {
  case $POOL in
    s3://*) [ -n "$(s3_tool list "$S3_PREFIX/$1" | cut -f1 | grep -E "^$S3_PREFIX/$1(/|\$)" | head -n 1)" ] ;;
    *) [ -e "$POOL/$1" ] ;;
  esac
}
pool_lacks() { ! pool_has "$1"; }
# pool_get SUBPATH FILE: copy one pool object to FILE
pool_get() {
  case $POOL in
    s3://*) s3_tool get "$S3_PREFIX/$1" "$2" ;;
    *) cp "$POOL/$1" "$2" ;;
  esac
}
# pool_files: every object of the pool as a path relative to it, sorted
pool_files() { pool_objects "" | sed "s|^$POOL/||; s|^/||" | sort; }
