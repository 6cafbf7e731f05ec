package dev.tessera.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.tessera.bindings.TesseraNative;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The CPU kernels' ISA copy is the one TESSERA_CPU_ISA asks for, or the best the CPU has where it asks for more
 * (native/src/cpu/dispatch.cpp). runtime/pom.xml runs the kernel tests again with TESSERA_CPU_ISA=avx2 and =scalar
 * (executions cpu-isa-avx2, cpu-isa-scalar) so that every ISA copy is checked on the machine that builds; this test,
 * in those executions, shows that the request took effect.
 */
class CpuIsaTest {
    private static final List<String> LEVELS = List.of("scalar", "avx2", "avx512");

    @Test
    void requestedIsaIsTheOneInUse() {
        String want = System.getenv("TESSERA_CPU_ISA");
        Assumptions.assumeTrue(want != null && LEVELS.contains(want), "TESSERA_CPU_ISA not set");
        List<String> flags = SystemInfo.cpuFlags();
        Assumptions.assumeTrue(!flags.isEmpty(), "no CPU flags (/proc/cpuinfo)");
        boolean avx2 = flags.containsAll(List.of("avx2", "fma", "f16c"));
        boolean avx512 = avx2 && flags.containsAll(List.of("avx512f", "avx512bw", "avx512vl", "avx512dq"));
        int has = avx512 ? 2 : avx2 ? 1 : 0;
        String expected = LEVELS.get(Math.min(has, LEVELS.indexOf(want)));
        assertEquals(expected, TesseraNative.tsr_cpu_simd().getString(), "CPU kernels in use with TESSERA_CPU_ISA="
                + want);
    }
}
