#!/usr/bin/env python3
"""Block-scheduling arithmetic behind flash_wgmma_ws's causal tile order (native/src/cuda/attention_wgmma_ws.cuh,
wg::ws_work / wg::ws_round): makespan, in 128-key tiles, of the bench's causal shapes on 132 SMs with one block per
SM, against the ideal (total work / SMs). A block's work is its key tiles (query block qb of 128 rows sees
(qb + 1) * 128 keys; seq_q == seq_k); per-block prologue and epilogue are left out.

  per-head  flash_wgmma: blocks of each head heaviest first (reversed blockIdx.x), heads one after another,
            each block to the SM that frees first (the hardware's dynamic assignment);
  lpt       ws: heaviest first across the (batch, head) pairs of a section, dynamic assignment;
  snake     wsp: the same order, all pairs in one section, in fixed rounds of 132 tiles, odd rounds backwards;
  stride    a fixed share i, i + 132, ... of the same order (what wsp avoids).

Usage: python3 docs/verification/ws_schedule_sim.py
"""
import heapq

SMS = 132


def tiles(qb):
    return qb + 1  # 128-row query block qb, causal, seq_q == seq_k: (qb + 1) key tiles


def order_per_head(nqb, bh):
    return [tiles(nqb - 1 - x) for _ in range(bh) for x in range(nqb)]


def order_lpt(nqb, bh, sec):  # wg::ws_work
    out = []
    for w in range(nqb * bh):
        s0 = w // (sec * nqb) * sec
        width = min(sec, bh - s0)
        out.append(tiles(nqb - 1 - (w - s0 * nqb) // width))
    return out


def dynamic(work):
    free = [0] * SMS
    for x in work:
        heapq.heappush(free, heapq.heappop(free) + x)
    return max(free)


def rounds(work, snake):  # wg::ws_round
    sums = [0] * SMS
    for r in range((len(work) + SMS - 1) // SMS):
        for i in range(SMS):
            w = r * SMS + (SMS - 1 - i if snake and r & 1 else i)
            if w < len(work):
                sums[i] += work[w]
    return max(sums)


def main():
    print("causal, 128-row blocks, %d SMs: makespan past the ideal" % SMS)
    print("%6s %5s %9s %9s %9s %9s %9s" % ("seq", "B*H", "ideal", "per-head", "lpt", "snake", "stride"))
    for seq, bh in [(1024, 128), (4096, 32), (16384, 8)]:
        nqb = seq // 128
        ideal = sum(order_per_head(nqb, bh)) / SMS
        lpt = order_lpt(nqb, bh, bh)
        cols = [dynamic(order_per_head(nqb, bh)), dynamic(lpt), rounds(lpt, True), rounds(lpt, False)]
        print("%6d %5d %9.1f " % (seq, bh, ideal) + " ".join("%8.1f%%" % (100 * (c / ideal - 1)) for c in cols))


if __name__ == "__main__":
    main()
