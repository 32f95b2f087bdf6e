using System.Diagnostics;
using System.Globalization;

namespace Asgilook.Sandbox;

/// <summary>How a job on a conversion worker ended.</summary>
internal enum WorkerEnd
{
    /// <summary>The worker answered (converted or refused).</summary>
    Answered,

    /// <summary>Killed by the server: its resident memory passed the ceiling.</summary>
    OverMemory,

    /// <summary>Killed by the server: the job ran past its deadline.</summary>
    OverTime,

    /// <summary>It ended by itself mid-job (a crash, or the kernel's limits) having reported an allocation that failed.</summary>
    AllocationFailed,

    /// <summary>It ended by itself mid-job, for no reason it gave.</summary>
    Died,

    /// <summary>It wrote what the protocol does not allow, and was killed.</summary>
    Broken,

    /// <summary>It was gone before it took the job (it ended while idle): the job may go to another worker.</summary>
    NotTaken,
}

/// <summary>One job's end, and the reply when the worker answered.</summary>
internal readonly record struct WorkerOutcome(WorkerEnd End, WorkerReply? Reply = null);

/// <summary>How to start a conversion worker: the program, its arguments, and the whole of its environment.</summary>
internal sealed record WorkerLaunch(string FileName, IReadOnlyList<string> Arguments, IReadOnlyDictionary<string, string> Environment);

/// <summary>
/// One conversion worker, seen from the server: a child process on three pipes. While a job runs, a watch
/// reads the worker's resident memory from <c>/proc</c> every few milliseconds and kills it past the ceiling,
/// and kills it at the deadline; a worker that dies by itself is told apart by what it last wrote on its
/// error output (an allocation that failed), which is read but never logged.
/// </summary>
internal sealed class WorkerProcess : IDisposable
{
    private static readonly TimeSpan WatchEvery = TimeSpan.FromMilliseconds(5);

    /// <summary>SIGXCPU, which ends a process past its CPU-time limit (RLIMIT_CPU).</summary>
    private const int CpuLimitSignal = 24;
    private static readonly long PageBytes = Environment.SystemPageSize;

    private readonly Process _process;
    private readonly Stream _input;
    private readonly Stream _output;
    private readonly Queue<string> _lastErrors = new();
    private int _killedFor = -1;

    private WorkerProcess(Process process)
    {
        _process = process;
        _input = process.StandardInput.BaseStream;
        _output = process.StandardOutput.BaseStream;
        process.ErrorDataReceived += (_, line) => Remember(line.Data);
        process.BeginErrorReadLine();
    }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>Starts a worker and waits until it says it is ready.</summary>
    /// <exception cref="WorkerUnavailableException">It could not be started, or did not become ready in time.</exception>
    public static WorkerProcess Start(WorkerLaunch launch, TimeSpan readyWithin)
    {
        var start = new ProcessStartInfo(launch.FileName)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in launch.Arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // Nothing of the server's environment (its keys, its connection strings) reaches a worker but what is given here.
        start.Environment.Clear();
        foreach (var (name, value) in launch.Environment)
        {
            start.Environment[name] = value;
        }

        Process process;
        try
        {
            process = Process.Start(start) ?? throw new WorkerUnavailableException("the process did not start");
        }
        catch (System.ComponentModel.Win32Exception)
        {
            throw new WorkerUnavailableException("the program could not be run");
        }

        var worker = new WorkerProcess(process);
        var ready = Task.Run(() => SandboxProtocol.ReadReady(worker._output));
        try
        {
            if (!ready.Wait(readyWithin))
            {
                throw new WorkerUnavailableException("it did not become ready in time");
            }
        }
        catch (AggregateException)
        {
            worker.Dispose();
            throw new WorkerUnavailableException("it ended before it was ready");
        }
        catch
        {
            worker.Dispose();
            throw;
        }

        return worker;
    }

    /// <summary>The worker's resident memory now; 0 when it cannot be read (it ended, or this is not Linux).</summary>
    public long ResidentBytes()
    {
        try
        {
            var statm = File.ReadAllText($"/proc/{_process.Id}/statm");
            var fields = statm.Split(' ', 3);
            return long.Parse(fields[1], CultureInfo.InvariantCulture) * PageBytes;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return 0;
        }
    }

    /// <summary>Sends one upload and waits for its reply, killing the worker past the deadline or the ceiling.</summary>
    public WorkerOutcome Run(byte[] upload, TimeSpan deadline, long ceilingBytes, int maxJpegBytes)
    {
        var clock = Stopwatch.StartNew();
        using var watch = new Timer(_ =>
        {
            if (clock.Elapsed > deadline)
            {
                KillFor(WorkerEnd.OverTime);
            }
            else if (ResidentBytes() > ceilingBytes)
            {
                KillFor(WorkerEnd.OverMemory);
            }
        }, null, WatchEvery, WatchEvery);
        try
        {
            SandboxProtocol.WriteJob(_input, upload);
        }
        catch (IOException)
        {
            return new WorkerOutcome(WorkerEnd.NotTaken);
        }

        try
        {
            var reply = SandboxProtocol.ReadReply(_output, maxJpegBytes);
            return new WorkerOutcome(WorkerEnd.Answered, reply);
        }
        catch (ProtocolViolationException)
        {
            KillFor(WorkerEnd.Broken);
            return new WorkerOutcome(WorkerEnd.Broken);
        }
        catch (Exception e) when (e is IOException or EndOfStreamException or ObjectDisposedException)
        {
            watch.Dispose();
            _process.WaitForExit(TimeSpan.FromSeconds(5));
            if (Volatile.Read(ref _killedFor) is var killed and >= 0)
            {
                return new WorkerOutcome((WorkerEnd)killed);
            }

            // The last error lines arrive with the end of the stream: wait for them before judging.
            _process.WaitForExit();
            if (_process.ExitCode == 128 + CpuLimitSignal)
            {
                return new WorkerOutcome(WorkerEnd.OverTime); // the kernel's CPU-time limit ended it
            }

            return new WorkerOutcome(ReportedAllocationFailure() ? WorkerEnd.AllocationFailed : WorkerEnd.Died);
        }
    }

    /// <summary>Kills the worker (once), remembering why.</summary>
    public void KillFor(WorkerEnd reason)
    {
        if (Interlocked.CompareExchange(ref _killedFor, (int)reason, -1) == -1)
        {
            Kill();
        }
    }

    /// <summary>
    /// Ends an idle worker the way it expects: its input closed, it exits by itself (within <paramref name="grace"/>, or it is
    /// killed). A worker being retired for what it did is killed at once instead (<see cref="Dispose"/>).
    /// </summary>
    public void Close(TimeSpan grace)
    {
        try
        {
            _input.Close();
        }
        catch (IOException)
        {
            // It ended already.
        }

        if (!_process.WaitForExit(grace))
        {
            Kill();
        }

        _process.Dispose();
    }

    public void Dispose()
    {
        Kill();
        _process.Dispose();
    }

    private void Kill()
    {
        try
        {
            _process.Kill(entireProcessTree: true);
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            // Ended already.
        }
    }

    private void Remember(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_lastErrors)
        {
            _lastErrors.Enqueue(line.Length > 200 ? line[..200] : line);
            while (_lastErrors.Count > 8)
            {
                _lastErrors.Dequeue();
            }
        }
    }

    private bool ReportedAllocationFailure()
    {
        lock (_lastErrors)
        {
            return _lastErrors.Any(line => ConversionWorker.AllocationFailures.Append("outofmemory")
                .Any(failure => line.Contains(failure, StringComparison.OrdinalIgnoreCase)));
        }
    }
}

/// <summary>A conversion worker could not be started: uploads answer 503 until one can.</summary>
public sealed class WorkerUnavailableException(string why) : Exception($"A conversion worker could not be started: {why}.");
