package dev.tessera.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.runtime.backend.CpuBackend;
import dev.tessera.runtime.backend.CudaBackend;
import java.util.List;
import java.util.ServiceLoader;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** Backend discovery, selection and device specs. */
class BackendsTest {
    @Test
    void serviceLoaderFindsCpuAndCuda() {
        List<String> names = ServiceLoader.load(Backend.class).stream().map(p -> p.get().name())
                .collect(Collectors.toList());
        assertTrue(names.contains("cpu") && names.contains("cuda"), "ServiceLoader found " + names);
        List<Backend> all = Backends.all();
        assertEquals(List.of("cuda", "cpu"), all.stream().map(Backend::name).collect(Collectors.toList()),
                "highest priority first");
        assertInstanceOf(CpuBackend.class, Backends.forType(Device.Type.CPU));
        assertInstanceOf(CudaBackend.class, Backends.forType(Device.Type.CUDA));
        assertEquals(Device.Type.CPU, Backends.forType(Device.Type.CPU).deviceType());
        assertEquals(Device.Type.CUDA, Backends.forType(Device.Type.CUDA).deviceType());
    }

    @Test
    void cpuIsAlwaysAvailable() {
        Backend cpu = Backends.forType(Device.Type.CPU);
        Backend.Availability a = cpu.availability();
        assertTrue(a.available(), "cpu unavailable: " + a.reason());
        assertEquals(1, cpu.deviceCount());
        assertTrue(Backends.get(Device.CPU) == cpu);
    }

    @Test
    void bestIsCpuWhenCudaIsUnavailableAndSaysWhy() {
        Backend cuda = Backends.forType(Device.Type.CUDA);
        Backend.Availability a = cuda.availability();
        if (a.available()) {
            assertEquals("cuda", Backends.best().name());
            assertTrue(cuda.deviceCount() >= 1);
            assertTrue(a.reason().isEmpty());
            return;
        }
        assertEquals("cpu", Backends.best().name());
        assertNotNull(a.reason());
        assertFalse(a.reason().isBlank(), "an unavailable backend must say why");
        assertEquals(0, cuda.deviceCount());
        // unless -Dtessera.device overrides it, the default device follows best()
        String prop = System.getProperty("tessera.device");
        if (prop == null || prop.isBlank()) {
            assertEquals(Device.CPU, Tessera.defaultDevice());
            assertEquals(Device.CPU, Backends.defaultDevice());
        }
        // the availability is stable (cached, no repeated probing side effects)
        assertEquals(a, cuda.availability());
    }

    @Test
    void deviceSpecsAsForTesseraDevice() {
        assertEquals(Device.CPU, Device.parse("cpu"));
        assertEquals(Device.CPU, Device.parse(" CPU "));
        assertEquals(Device.cuda(0), Device.parse("cuda"));
        assertEquals(Device.cuda(0), Device.parse("cuda:0"));
        assertEquals(Device.cuda(1), Device.parse("cuda:1"));
        assertEquals(Device.cuda(1), Device.parse("CUDA:1"));
        assertEquals(new Device(Device.Type.CUDA, 1), Device.parse("cuda:1"));
        assertEquals("cuda:1", Device.parse("cuda:1").toString());
        assertEquals("cpu", Device.CPU.toString());
        assertTrue(Device.parse("cuda:3").isCuda());
        assertTrue(Device.parse("cpu").isCpu());
        assertThrows(IllegalArgumentException.class, () -> Device.parse("cuda:-2"));
        for (String bad : new String[] {"tpu", "", "cuda:", "cuda:one", "cuda1", "cpu:0"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Device.parse(bad), bad);
            assertTrue(e.getMessage().contains(bad.isEmpty() ? "''" : bad), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> Device.parse(null));
    }

    @Test
    void cpuMemoryStatsCountAllocations() {
        Backend cpu = Backends.forType(Device.Type.CPU);
        Backend.MemoryStats s0 = cpu.memoryStats(Device.CPU);
        try (Tensor t = Tensor.empty(DType.F32, Device.CPU, 1000)) {
            Backend.MemoryStats s1 = cpu.memoryStats(Device.CPU);
            assertEquals(s0.allocatedBytes() + 4000, s1.allocatedBytes());
            assertEquals(s0.allocations() + 1, s1.allocations());
            assertTrue(s1.peakAllocatedBytes() >= s1.allocatedBytes());
            assertEquals(0, t.address() % 64, "CPU tensors are 64-byte aligned");
        }
        assertEquals(s0.allocatedBytes(), cpu.memoryStats(Device.CPU).allocatedBytes());
    }
}
