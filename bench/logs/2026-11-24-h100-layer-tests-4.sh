export OMP_NUM_THREADS=16; mkdir -p $OUT/f
cmake -S runtime -B /tmp/samoyeds-rt -G Ninja -DCMAKE_BUILD_TYPE=Release > $OUT/f/cfg.txt 2>&1 && ninja -C /tmp/samoyeds-rt > $OUT/f/build.txt 2>&1 || { tail $OUT/f/build.txt; exit 1; }
t=/tmp/samoyeds-rt/moe-gpu-test
timeout 120 compute-sanitizer --tool memcheck --error-exitcode 3 $t .device/small_bundle --tokens 1,16,64 --repeat-check --seed 3 > $OUT/f/memcheck-small-layer.txt 2>&1; echo "memcheck small layer rc=$? $(grep -h 'ERROR SUMMARY' $OUT/f/memcheck-small-layer.txt)"; grep "T=" $OUT/f/memcheck-small-layer.txt
run() { timeout $1 $t .device/layers/$2 --tokens $3 --routing ${4:-random} --repeat-check --seed 21 2>&1 | grep -v "^device memory" | tee -a $OUT/f/layers.log | grep "T="; }
run 100 olmoe_12v128 256,4096
run 90 deepseek_v2l_12v128 4096
run 150 qwen2_moe_12v128 256,4096
run 40 mixtral_11v128 64 half-empty
run 170 mixtral_12v128 256,4096
