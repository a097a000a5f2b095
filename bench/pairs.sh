# bench/pairs.sh: sourced by bench/blk and bench/net.  Runs both sides in
# pairs and summarises them.
#
# The nested host's speed drifts by up to 2x over a bench run (the whole L1
# is emulated, on a shared machine), so medians of each side on their own
# can compare a fast stretch with a slow one.  The two runs of a pair are
# back to back and swap order every pair (A B, B A, ...), so a pair's ratio
# sees the same conditions; the median of those ratios is the headline.
#
# The caller defines run SIDE, printing "TEST VALUE TEST VALUE ...", and
# calls bench_pairs RUNS UNITS-TEXT PEER-NAME TEST...; BENCH_SIDES="qemu"
# (or "xenkvmd") runs one side only.

# median; an even count gives the mean of the middle two
bench_median() {
	printf '%s\n' "$@" | sort -g |
		awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

bench_pairs() {
	local runs=$1 units=$2 peer=$3 i side line t x q pr
	shift 3
	local -a tests=("$@")
	local -A res=()
	local -a sides=(${BENCH_SIDES:-xenkvmd qemu})
	local -A got=()
	local kept=0
	for i in $(seq 1 "$runs"); do
		local order=("${sides[@]}") ok=1
		if [ $((i % 2)) = 0 ] && [ ${#sides[@]} = 2 ]; then order=("${sides[1]}" "${sides[0]}"); fi
		for side in "${order[@]}"; do
			if got[$side]=$(run "$side"); then
				echo "  run $i $side: ${got[$side]}"
			else
				echo "  run $i $side: failed"
				ok=0
			fi
		done
		# A failed run (a guest that hung, on either side) drops its
		# pair, so the others still pair up; the summary counts them.
		[ $ok = 1 ] || continue
		kept=$((kept + 1))
		for side in "${order[@]}"; do
			set -- ${got[$side]}
			while [ $# -ge 2 ]; do res[$side.$1]+="$2 "; shift 2; done
		done
	done
	[ $kept -gt 0 ] || { echo "bench: every run failed" >&2; return 1; }
	[ $kept = "$runs" ] || echo "bench: $((runs - kept)) of $runs pairs dropped (a run failed)"
	echo "bench: medians ($units), xenkvmd/$peer: median of the per-pair ratios, and the ratio of the medians"
	for t in "${tests[@]}"; do
		x=$(bench_median ${res[xenkvmd.$t]:-0}) q=$(bench_median ${res[qemu.$t]:-0})
		# per-pair ratios, pair i = i-th value of each side
		pr=$(paste -d' ' <(printf '%s\n' ${res[xenkvmd.$t]:-}) <(printf '%s\n' ${res[qemu.$t]:-}) |
			awk 'NF == 2 && $2 > 0 { printf "%.2f\n", $1 / $2 }')
		printf '  %-10s xenkvmd %9s   %s %9s   pair ratios %s   median %s   ratio of medians %s\n' \
			"$t" "$x" "$peer" "$q" "$(echo $pr)" "$(bench_median ${pr:-n/a})" \
			"$(awk -v a="$x" -v b="$q" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')"
	done
}
