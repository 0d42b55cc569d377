package procfs

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseStatTicksCountsFromTheLastParenthesis(t *testing.T) {
	t.Parallel()
	// A command name with spaces and a ')' of its own; utime 1234, stime 56.
	stat := []byte("4242 (post gres) x) S 1 4242 4242 0 -1 4194560 500 0 0 0 1234 56 0 0 20 0 1 0 100 1000000 200 18446744073709551615\n")
	require.Equal(t, int64(1290), ParseStatTicks(stat))
	require.Zero(t, ParseStatTicks([]byte("4242 (chatgw) S 1 2")), "too few fields")
	require.Zero(t, ParseStatTicks([]byte("garbage")))
}

func TestParseStatusRSS(t *testing.T) {
	t.Parallel()
	status := []byte("Name:\tchatgw\nVmPeak:\t  999 kB\nVmRSS:\t   25000 kB\nThreads:\t9\n")
	require.Equal(t, int64(25000*1024), ParseStatusRSS(status))
	require.Zero(t, ParseStatusRSS([]byte("Name:\tkthreadd\n")))
}

func TestParseIOSyscalls(t *testing.T) {
	t.Parallel()
	io := []byte("rchar: 100\nwchar: 200\nsyscr: 31\nsyscw: 17\nread_bytes: 0\n")
	r, w := ParseIOSyscalls(io)
	require.Equal(t, int64(31), r)
	require.Equal(t, int64(17), w)
}

func TestParseMachineBusySkipsIdleIOWaitAndGuest(t *testing.T) {
	t.Parallel()
	// user nice system idle iowait irq softirq steal guest guest_nice
	stat := []byte("cpu  100 2 30 5000 40 1 3 7 50 9\ncpu0 50 1 15 2500 20 0 1 3 25 4\n")
	require.Equal(t, int64(100+2+30+1+3+7), ParseMachineBusy(stat))
	require.Zero(t, ParseMachineBusy([]byte("intr 5\n")))
}

func TestPerMessage(t *testing.T) {
	t.Parallel()
	before := CPU{Gateway: 100, Postgres: 500, Bench: 10, Machine: 1000, GatewayReads: 1000, GatewayWrites: 400}
	// 1,000 messages; +50 ticks of gateway = 0.5 s = 500 µs per message.
	after := CPU{Gateway: 150, Postgres: 480, Bench: 12, Machine: 1100, GatewayReads: 4000, GatewayWrites: 2400}
	got := before.PerMessage(after, 1000)
	require.Equal(t, CPUCost{
		GatewayUS:     500,
		PostgresUS:    0, // a backend exited: never negative
		BenchUS:       20,
		MachineUS:     1000,
		GatewayReads:  3,
		GatewayWrites: 2,
	}, got)
	require.Equal(t, "500+0+20=1000", got.String())
	require.Equal(t, CPUCost{}, before.PerMessage(after, 0))
}

func TestCPUPercent(t *testing.T) {
	t.Parallel()
	require.Equal(t, 150.0, CPUPercent(300, 2), "3 s of CPU over 2 s: one and a half cores")
	require.Zero(t, CPUPercent(300, 0))
}

func TestReadProcessReadsThisProcess(t *testing.T) {
	t.Parallel()
	p := ReadProcess(os.Getpid())
	require.Positive(t, p.RSSBytes)
	require.Positive(t, p.OpenFDs)
	c := ReadCPU(os.Getpid())
	require.Positive(t, c.Machine)
	require.Positive(t, c.GatewayReads, "syscr of this process")
}
