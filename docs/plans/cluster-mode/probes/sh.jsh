int of(long id, int n) { long z = id; z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L; z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL; z = z ^ (z >>> 31); return (int) Long.remainderUnsigned(z, n); }
for (long id : new long[] {1, 2, 1000, Long.MAX_VALUE}) { StringBuilder b = new StringBuilder("id " + id + ":"); for (int n : new int[] {1, 7, 256, 65536}) b.append(" n=" + n + "->" + of(id, n)); System.out.println(b); }
void bal(String name, java.util.function.LongUnaryOperator ids, int count, int n) { int[] c = new int[n]; for (int i = 1; i <= count; i++) c[of(ids.applyAsLong(i), n)]++; int min = Integer.MAX_VALUE, max = 0; for (int x : c) { min = Math.min(min, x); max = Math.max(max, x); } System.out.println(name + ": expected " + (count / n) + " per shard, min " + min + " max " + max); }
bal("sequential 1..100000, 256 shards", i -> i, 100000, 256);
bal("multiples of 256, 100000 ids, 256 shards", i -> i * 256, 100000, 256);
bal("sequential 1..100000, 7 shards", i -> i, 100000, 7);
bal("multiples of 1024, 256 shards, 1M ids", i -> i * 1024, 1000000, 256);
/exit
