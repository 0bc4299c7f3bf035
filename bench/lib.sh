# Shared by the bench scripts: source it after `cd` to the repository root.

# measure CMD...: runs CMD $runs times (default 5) under /usr/bin/time and
# prints "MEDIAN_WALL_SECONDS MAX_PEAK_RSS_KIB".
measure() {
  local times=() rss=0 t m tf n=${runs:-5}
  tf=$(mktemp)
  for _ in $(seq "$n"); do
    /usr/bin/time -o "$tf" -f '%e %M' "$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; cat "$tf" >&2; exit 2; }
    read -r t m < <(tail -1 "$tf")
    times+=("$t"); [ "$m" -gt "$rss" ] && rss=$m
  done
  rm -f "$tf"
  printf '%s %s\n' "$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(( (n + 1) / 2 ))p")" "$rss"
}

# row NAME SECONDS RSS_KIB FLOOR_SECONDS: one line of a result table.
row() {
  printf '%-30s %8s %10s %12s\n' "$1" "$2" "$(( $3 / 1024 ))" "$(echo "scale=2; $2 / $4" | bc)"
}
