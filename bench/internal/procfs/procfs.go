// Package procfs reads what the benchmark measures of processes and of the
// machine from Linux's /proc: a process's RSS, open files, CPU time and
// system calls, every PostgreSQL process's CPU time, the machine's busy
// time. Each reading has a parser over the file's bytes, so the rules are
// tested without a live process.
package procfs

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// UserHZ is the unit of the CPU counters in /proc (USER_HZ, 1/100 s on
// Linux).
const UserHZ = 100

// Process is one reading of a process's resources.
type Process struct {
	RSSBytes int64
	OpenFDs  int
	CPUTicks int64 // utime + stime
}

// ReadProcess reads pid's RSS, open files and CPU time. Missing files
// (the process exited) leave their fields zero.
func ReadProcess(pid int) Process {
	var p Process
	dir := "/proc/" + strconv.Itoa(pid)
	if b, err := os.ReadFile(dir + "/status"); err == nil {
		p.RSSBytes = ParseStatusRSS(b)
	}
	if ents, err := os.ReadDir(dir + "/fd"); err == nil {
		p.OpenFDs = len(ents)
	}
	if b, err := os.ReadFile(dir + "/stat"); err == nil {
		p.CPUTicks = ParseStatTicks(b)
	}
	return p
}

// ParseStatusRSS reads VmRSS (in kB) from /proc/PID/status, in bytes.
func ParseStatusRSS(status []byte) int64 {
	for line := range strings.Lines(string(status)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// ParseStatTicks reads utime + stime from a /proc/PID/stat line. The
// command name may hold spaces and parentheses, so fields count from the
// last ')'.
func ParseStatTicks(stat []byte) int64 {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 || i+2 > len(stat) {
		return 0
	}
	f := strings.Fields(string(stat[i+2:]))
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return u + s
}

// ParseIOSyscalls reads the read and write system call counts (syscr,
// syscw) from /proc/PID/io.
func ParseIOSyscalls(io []byte) (reads, writes int64) {
	for line := range strings.Lines(string(io)) {
		k, v, _ := strings.Cut(strings.TrimSpace(line), ": ")
		n, _ := strconv.ParseInt(v, 10, 64)
		switch k {
		case "syscr":
			reads = n
		case "syscw":
			writes = n
		}
	}
	return reads, writes
}

// ParseMachineBusy sums the "cpu" line of /proc/stat minus idle and iowait
// (guest and guest_nice are already counted in user and nice).
func ParseMachineBusy(stat []byte) int64 {
	line, _, _ := bytes.Cut(stat, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) < 2 || f[0] != "cpu" {
		return 0
	}
	var busy int64
	for i, v := range f[1:] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		if i >= 8 { // guest, guest_nice
			break
		}
		n, _ := strconv.ParseInt(v, 10, 64)
		busy += n
	}
	return busy
}

// CPU is one reading of the counters a CPUCost is made of, in UserHZ
// ticks and system calls.
type CPU struct {
	Gateway, Postgres, Bench, Machine int64
	GatewayReads, GatewayWrites       int64
}

// ReadCPU reads the gateway processes' (summed), every postgres process's,
// this process's and the machine's CPU time.
func ReadCPU(gatewayPIDs ...int) CPU {
	var t CPU
	for _, pid := range gatewayPIDs {
		t.Gateway += ticks(pid)
		if b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/io"); err == nil {
			r, w := ParseIOSyscalls(b)
			t.GatewayReads += r
			t.GatewayWrites += w
		}
	}
	t.Bench = ticks(os.Getpid())
	if b, err := os.ReadFile("/proc/stat"); err == nil {
		t.Machine = ParseMachineBusy(b)
	}
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, p := range stats {
		b, err := os.ReadFile(p)
		if err != nil || !bytes.Contains(b, []byte("(postgres)")) {
			continue
		}
		t.Postgres += ParseStatTicks(b)
	}
	return t
}

func ticks(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	return ParseStatTicks(b)
}

// CPUCost is where the machine's CPU went during a measured window,
// divided by the messages acknowledged in it: which process a message's
// cost is spent in, and, since a saturated machine gives msg/s ≈ cores ÷
// machine time per message, whether a run was limited by CPU at all. It
// moves with the host's speed as throughput does, so builds are still
// compared in runs taken in the same minutes.
type CPUCost struct {
	// Microseconds of CPU per acknowledged message.
	GatewayUS  float64 `json:"gatewayUs"`  // the chatgw process
	PostgresUS float64 `json:"postgresUs"` // every process named postgres
	BenchUS    float64 `json:"benchUs"`    // this load generator and its webhook receiver
	MachineUS  float64 `json:"machineUs"`  // all CPUs, busy time (not idle or iowait)
	// The gateway's read and write system calls per acknowledged message
	// (sockets, database and webhook connections alike).
	GatewayReads  float64 `json:"gatewayReadsPerMsg"`
	GatewayWrites float64 `json:"gatewayWritesPerMsg"`
}

// PerMessage turns two readings into CPU microseconds per message. A
// PostgreSQL backend that exited in between takes its ticks with it, so a
// counter that went down counts as zero (the postgres figure can only
// under-count).
func (t CPU) PerMessage(later CPU, messages int64) CPUCost {
	if messages <= 0 {
		return CPUCost{}
	}
	us := func(a, b int64) float64 { return float64(max(b-a, 0)) * 1e6 / UserHZ / float64(messages) }
	per := func(a, b int64) float64 { return float64(max(b-a, 0)) / float64(messages) }
	return CPUCost{
		GatewayUS:     us(t.Gateway, later.Gateway),
		PostgresUS:    us(t.Postgres, later.Postgres),
		BenchUS:       us(t.Bench, later.Bench),
		MachineUS:     us(t.Machine, later.Machine),
		GatewayReads:  per(t.GatewayReads, later.GatewayReads),
		GatewayWrites: per(t.GatewayWrites, later.GatewayWrites),
	}
}

// String is the table cell: gateway + postgres + bench = machine.
func (c CPUCost) String() string {
	return strconv.FormatFloat(c.GatewayUS, 'f', 0, 64) + "+" +
		strconv.FormatFloat(c.PostgresUS, 'f', 0, 64) + "+" +
		strconv.FormatFloat(c.BenchUS, 'f', 0, 64) + "=" +
		strconv.FormatFloat(c.MachineUS, 'f', 0, 64)
}

// CPUPercent is the share of one CPU that ticks of CPU time over seconds
// of wall time amount to (200 % is two cores busy).
func CPUPercent(ticks int64, seconds float64) float64 {
	if seconds <= 0 {
		return 0
	}
	return float64(ticks) / UserHZ / seconds * 100
}
