// The CPU-bound job of bench/executor.ts, loaded by its worker pool by name.

/** Count the primes in [from, to) by trial division (deliberately naive: CPU work). */
export function countPrimes(from: number, to: number): number {
  let count = 0;
  for (let n = Math.max(2, from); n < to; n++) {
    let prime = true;
    for (let d = 2; d * d <= n; d++) {
      if (n % d === 0) {
        prime = false;
        break;
      }
    }
    if (prime) count++;
  }
  return count;
}
