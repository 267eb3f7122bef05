# The table of the benchmarks (bench/trace.sh and bench/ab.sh copy this file into the guest;
# tests/vm/bench-scale/scale.sh writes the same table and its variants itself): n TCP services
# of m NAT servers of weight 1, scheduler wlc; service i at 10.A.B.C:80, where (A.B, C) is i
# multiplied by 7368787 modulo 65536 * 254 (addresses spread over 10.0.0.0/8, last octet
# 1..254); server k of the table at 172.(16 + k / 62500).(k / 250 % 250).(k % 250 + 1):8080,
# each address used once. Written to the file `out` as .ipvs.
#
#     awk -v n=2000 -v m=10 -v out=t1.ipvs -f table.awk
BEGIN {
    mod = 65536 * 254
    for (i = 0; i < n; i++) {
        j = (i * 7368787) % mod
        x = int(j / 254)
        printf "service tcp 10.%d.%d.%d:80 {\n    scheduler wlc; forward nat\n", int(x / 256), x % 256, j % 254 + 1 >out
        for (s = 0; s < m; s++) {
            k = i * m + s
            printf "    server 172.%d.%d.%d:8080 weight 1\n", 16 + int(k / 62500), int(k / 250) % 250, k % 250 + 1 >out
        }
        print "}" >out
    }
}
