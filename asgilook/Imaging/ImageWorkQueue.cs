namespace Asgilook.Imaging;

/// <summary>Who asked for a piece of image work, and what it costs: the pixels it decodes or renders.</summary>
/// <param name="Client">The client as the rate limits know it (an upload key's id or an address).</param>
public readonly record struct WorkTicket(string Client, long Pixels);

/// <summary>How a queue shares its workers between clients.</summary>
/// <param name="QueuedPixels">The pixels of all the work admitted (running and waiting) at most: past it, 503.</param>
/// <param name="JobsPerClient">How many jobs one client may have admitted at once: past it, 429.</param>
/// <param name="PixelsPerClient">The pixels one client may have admitted at once (its first job is always admitted): past it, 429.</param>
/// <param name="LargeJobPixels">A job of this many pixels or more is large: large jobs together hold all but one worker at most.</param>
public sealed record WorkShares(long QueuedPixels, int JobsPerClient, long PixelsPerClient, long LargeJobPixels)
{
    /// <summary>No sharing at all: every job is small and any client may fill the queue (for tests of the queue alone).</summary>
    public static readonly WorkShares Unlimited = new(long.MaxValue, int.MaxValue, long.MaxValue, long.MaxValue);
}

/// <summary>
/// Runs CPU-bound image work (conversions, thumbnails) on its own <c>workers</c> threads, shared fairly by
/// cost: work is counted in pixels, not requests; each client has a cap on what it may have waiting; the
/// next job is taken round-robin across the clients that have work waiting, so a client that floods the
/// queue waits behind itself while everyone else's work goes next; and large jobs never hold every worker,
/// so small ones always have one. Past the queue's bounds work is refused at once (503, or 429 for a client
/// over its own cap) instead of making everyone wait. The work never runs on the thread pool, so a burst of
/// uploads cannot starve the threads that serve cache hits.
/// </summary>
public sealed class ImageWorkQueue : IDisposable
{
    private readonly object _lock = new();
    private readonly Dictionary<string, ClientWork> _clients = new(StringComparer.Ordinal);
    private readonly LinkedList<ClientWork> _turns = new();
    private readonly Thread[] _threads;
    private readonly WorkShares _shares;
    private readonly int _largeAtOnce;
    private int _admitted;
    private long _admittedPixels;
    private int _running;
    private int _largeRunning;
    private bool _draining;
    private bool _stopped;
    private int _disposed;

    /// <param name="name">What the queue runs (<c>conversion</c>, <c>render</c>): its threads' and its metrics' label.</param>
    public ImageWorkQueue(string name, int workers, int queueLength, WorkShares? shares = null)
    {
        Name = name;
        Workers = workers;
        QueueLength = queueLength;
        _shares = shares ?? WorkShares.Unlimited;
        _largeAtOnce = Math.Max(1, workers - 1);
        _threads = [.. Enumerable.Range(0, workers).Select(i => new Thread(Work) { IsBackground = true, Name = $"{name}-worker-{i}" })];
        foreach (var thread in _threads)
        {
            thread.Start();
        }
    }

    public string Name { get; }

    public int Workers { get; }

    public int QueueLength { get; }

    /// <summary>Work admitted, running or waiting.</summary>
    public int Admitted
    {
        get
        {
            lock (_lock)
            {
                return _admitted;
            }
        }
    }

    /// <summary>Work admitted but not yet running.</summary>
    public int Waiting
    {
        get
        {
            lock (_lock)
            {
                return _admitted - _running;
            }
        }
    }

    /// <summary>Queues <paramref name="work"/> for <paramref name="ticket"/>'s client.</summary>
    /// <exception cref="ServerBusyException">The queue is full, or draining.</exception>
    /// <exception cref="ClientBusyException">This client has as much work admitted as one client may.</exception>
    public Task<T> RunAsync<T>(WorkTicket ticket, Func<T> work, CancellationToken cancellationToken)
    {
        var result = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        var pixels = Math.Max(1, ticket.Pixels);
        var job = new Job(pixels, pixels >= _shares.LargeJobPixels, () =>
        {
            if (cancellationToken.IsCancellationRequested)
            {
                result.TrySetCanceled(cancellationToken);
                return;
            }

            try
            {
                result.TrySetResult(work());
            }
            catch (Exception e)
            {
                result.TrySetException(e);
            }
        });
        lock (_lock)
        {
            if (_draining || _admitted >= Workers + QueueLength || (_admitted > 0 && _admittedPixels + pixels > _shares.QueuedPixels))
            {
                throw new ServerBusyException();
            }

            if (!_clients.TryGetValue(ticket.Client, out var client))
            {
                client = new ClientWork(ticket.Client);
                _clients[ticket.Client] = client;
            }

            if (client.Admitted >= _shares.JobsPerClient || (client.Admitted > 0 && client.Pixels + pixels > _shares.PixelsPerClient))
            {
                ForgetIfIdle(client);
                throw new ClientBusyException();
            }

            job.Client = client;
            client.Admitted++;
            client.Pixels += pixels;
            client.Waiting.Enqueue(job);
            if (client.Turn is null)
            {
                client.Turn = _turns.AddLast(client);
            }

            _admitted++;
            _admittedPixels += pixels;
            Monitor.Pulse(_lock);
        }

        return result.Task;
    }

    /// <summary>Refuses new work from now on and waits until the admitted work is done (or <paramref name="cancellationToken"/> gives up).</summary>
    public async Task DrainAsync(CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            _draining = true;
        }

        while (!cancellationToken.IsCancellationRequested)
        {
            lock (_lock)
            {
                if (_admitted == 0)
                {
                    return;
                }
            }

            await Task.Delay(10, CancellationToken.None);
        }
    }

    public void Dispose()
    {
        // The host disposes it twice: as itself and as the hosted service it is registered as too.
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        lock (_lock)
        {
            _stopped = true;
            Monitor.PulseAll(_lock);
        }

        foreach (var thread in _threads)
        {
            thread.Join();
        }
    }

    private void Work()
    {
        while (Next() is { } job)
        {
            try
            {
                job.Run();
            }
            finally
            {
                lock (_lock)
                {
                    _running--;
                    _largeRunning -= job.Large ? 1 : 0;
                    _admitted--;
                    _admittedPixels -= job.Pixels;
                    job.Client!.Admitted--;
                    job.Client.Pixels -= job.Pixels;
                    ForgetIfIdle(job.Client);
                    Monitor.PulseAll(_lock); // a large job's end may let a waiting one run
                }

                NativeHeap.Trim();
            }
        }
    }

    /// <summary>The next job: the first client in turn whose next job may run now, which then goes to the back of the turns.</summary>
    private Job? Next()
    {
        lock (_lock)
        {
            while (true)
            {
                if (_stopped && _turns.Count == 0)
                {
                    return null; // stopping: what was admitted ran first
                }

                for (var turn = _turns.First; turn is not null; turn = turn.Next)
                {
                    var client = turn.Value;
                    var job = client.Waiting.Peek();
                    if (job.Large && _largeRunning >= _largeAtOnce)
                    {
                        continue;
                    }

                    client.Waiting.Dequeue();
                    _turns.Remove(turn);
                    client.Turn = client.Waiting.Count > 0 ? _turns.AddLast(client) : null;
                    _running++;
                    _largeRunning += job.Large ? 1 : 0;
                    return job;
                }

                Monitor.Wait(_lock);
            }
        }
    }

    private void ForgetIfIdle(ClientWork client)
    {
        if (client.Admitted == 0)
        {
            _clients.Remove(client.Name);
        }
    }

    private sealed class ClientWork(string name)
    {
        public string Name { get; } = name;

        public Queue<Job> Waiting { get; } = new();

        public LinkedListNode<ClientWork>? Turn { get; set; }

        public int Admitted { get; set; }

        public long Pixels { get; set; }
    }

    private sealed class Job(long pixels, bool large, Action run)
    {
        public long Pixels { get; } = pixels;

        public bool Large { get; } = large;

        public ClientWork? Client { get; set; }

        public void Run() => run();
    }
}

/// <summary>A thumbnail of a stored image ran past <c>ImageWorkTimeout</c>: the server is overloaded (503 with Retry-After).</summary>
public sealed class ImageWorkTimeoutException(TimeSpan timeout, Exception inner)
    : Exception($"Image work ran past its {timeout.TotalSeconds:0.###} s.", inner);

/// <summary>The image work queue is full: the client should retry shortly (answered 503 with Retry-After).</summary>
public sealed class ServerBusyException() : Exception("The image work queue is full.");

/// <summary>This client has as much image work admitted as one client may: it should retry when some is done (429 with Retry-After).</summary>
public sealed class ClientBusyException() : Exception("This client has as much image work queued as one client may.");
