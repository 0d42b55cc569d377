package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// cpuCost is where the machine's CPU went during a measured window,
// divided by the messages acknowledged in it: which process a message's
// cost is spent in, and, since a saturated machine gives msg/s ≈ cores ÷
// machine time per message, whether a run was limited by CPU at all. It
// moves with the host's speed as throughput does, so builds are still
// compared in runs taken in the same minutes.
type cpuCost struct {
	// Microseconds of CPU per acknowledged message.
	GatewayUS  float64 `json:"gatewayUs"`  // the chatgw child process
	PostgresUS float64 `json:"postgresUs"` // every process named postgres
	BenchUS    float64 `json:"benchUs"`    // this load generator and its webhook receiver
	MachineUS  float64 `json:"machineUs"`  // all CPUs, busy time (not idle or iowait)
	// The gateway's read and write system calls per acknowledged message
	// (sockets, database and webhook connections alike).
	GatewayReads  float64 `json:"gatewayReadsPerMsg"`
	GatewayWrites float64 `json:"gatewayWritesPerMsg"`
}

// cpuTicks is one reading of the counters cpuCost is made of, in USER_HZ
// ticks (1/100 s on Linux).
type cpuTicks struct {
	gateway, postgres, bench, machine int64
	gatewayReads, gatewayWrites       int64 // syscr and syscw of /proc/PID/io
}

const userHZ = 100

func readCPUTicks(gatewayPID int) cpuTicks {
	t := cpuTicks{
		gateway: procTicks(gatewayPID),
		bench:   procTicks(os.Getpid()),
		machine: machineBusyTicks(),
	}
	t.gatewayReads, t.gatewayWrites = procSyscalls(gatewayPID)
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, p := range stats {
		b, err := os.ReadFile(p)
		if err != nil || !bytes.Contains(b, []byte("(postgres)")) {
			continue
		}
		t.postgres += statTicks(b)
	}
	return t
}

// perMessage turns two readings into CPU microseconds per message. A
// PostgreSQL backend that exited in between takes its ticks with it, so
// the postgres figure can only under-count.
func (t cpuTicks) perMessage(later cpuTicks, messages int64) cpuCost {
	if messages <= 0 {
		return cpuCost{}
	}
	us := func(a, b int64) float64 { return float64(max(b-a, 0)) * 1e6 / userHZ / float64(messages) }
	return cpuCost{
		GatewayUS:     us(t.gateway, later.gateway),
		PostgresUS:    us(t.postgres, later.postgres),
		BenchUS:       us(t.bench, later.bench),
		MachineUS:     us(t.machine, later.machine),
		GatewayReads:  float64(later.gatewayReads-t.gatewayReads) / float64(messages),
		GatewayWrites: float64(later.gatewayWrites-t.gatewayWrites) / float64(messages),
	}
}

// procSyscalls reads the read and write system call counts of a process.
func procSyscalls(pid int) (reads, writes int64) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/io")
	if err != nil {
		return 0, 0
	}
	for line := range strings.Lines(string(b)) {
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

func procTicks(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	return statTicks(b)
}

// statTicks reads utime + stime from a /proc/PID/stat line.
func statTicks(b []byte) int64 {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 > len(b) {
		return 0
	}
	f := strings.Fields(string(b[i+2:]))
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return u + s
}

// machineBusyTicks sums the first line of /proc/stat minus idle and iowait.
func machineBusyTicks() int64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := strings.Fields(string(line))
	var busy int64
	for i, v := range f[1:] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		if i >= 8 { // guest and guest_nice are already in user and nice
			break
		}
		n, _ := strconv.ParseInt(v, 10, 64)
		busy += n
	}
	return busy
}

// String is the table cell: gateway + postgres + bench = machine.
func (c cpuCost) String() string {
	return strconv.FormatFloat(c.GatewayUS, 'f', 0, 64) + "+" +
		strconv.FormatFloat(c.PostgresUS, 'f', 0, 64) + "+" +
		strconv.FormatFloat(c.BenchUS, 'f', 0, 64) + "=" +
		strconv.FormatFloat(c.MachineUS, 'f', 0, 64)
}
