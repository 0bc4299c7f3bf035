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

# measure_cpu CMD...: like measure, but prints "MEDIAN_WALL_SECONDS
# MEDIAN_CPU_SECONDS MAX_PEAK_RSS_KIB", CPU being user+sys of CMD and its
# children: on a shared machine the CPU time compares where wall time
# does not.
measure_cpu() {
  local times=() cpus=() rss=0 t u s m tf n=${runs:-5}
  tf=$(mktemp)
  for _ in $(seq "$n"); do
    /usr/bin/time -o "$tf" -f '%e %U %S %M' "$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; cat "$tf" >&2; exit 2; }
    read -r t u s m < <(tail -1 "$tf")
    times+=("$t"); cpus+=("$(echo "$u + $s" | bc)"); [ "$m" -gt "$rss" ] && rss=$m
  done
  rm -f "$tf"
  local mid=$(( (n + 1) / 2 ))
  printf '%s %s %s\n' "$(printf '%s\n' "${times[@]}" | sort -n | sed -n "${mid}p")" \
    "$(printf '%s\n' "${cpus[@]}" | sort -n | sed -n "${mid}p")" "$rss"
}

# row_cpu NAME SECONDS CPU_SECONDS RSS_KIB FLOOR_SECONDS FLOOR_CPU: one line
# of a result table with wall and CPU time, each also against the floor's.
row_cpu() {
  printf '%-26s %7s %7s %9s %8s %8s\n' "$1" "$2" "$3" "$(( $4 / 1024 ))" \
    "$(echo "scale=2; $2 / $5" | bc)" "$(echo "scale=2; $3 / $6" | bc)"
}
