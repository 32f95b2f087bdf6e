using System.Collections.Concurrent;

namespace Asgilook.Imaging;

/// <summary>
/// Runs CPU-bound image work (conversions, thumbnails) on its own <c>workers</c> threads, with at most
/// <c>queueLength</c> more items waiting. Past that, work is refused at once with
/// <see cref="ServerBusyException"/> (a 503 with Retry-After) instead of making everyone wait. Because the
/// work never runs on the thread pool, a burst of uploads cannot starve the threads that serve cache hits.
/// </summary>
public sealed class ImageWorkQueue : IDisposable
{
    private readonly BlockingCollection<Action> _items = [];
    private readonly Thread[] _threads;
    private int _admitted;
    private int _running;
    private bool _draining;
    private int _disposed;

    /// <param name="name">What the queue runs (<c>conversion</c>, <c>render</c>): its threads' and its metrics' label.</param>
    public ImageWorkQueue(string name, int workers, int queueLength)
    {
        Name = name;
        Workers = workers;
        QueueLength = queueLength;
        _threads = [.. Enumerable.Range(0, workers).Select(i => new Thread(Work) { IsBackground = true, Name = $"{name}-worker-{i}" })];
        foreach (var thread in _threads)
        {
            thread.Start();
        }
    }

    public string Name { get; }

    public int Workers { get; }

    public int QueueLength { get; }

    /// <summary>Work admitted but not yet running.</summary>
    public int Waiting => Math.Max(0, Volatile.Read(ref _admitted) - Volatile.Read(ref _running));

    public Task<T> RunAsync<T>(Func<T> work, CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _draining))
        {
            throw new ServerBusyException();
        }

        if (Interlocked.Increment(ref _admitted) > Workers + QueueLength)
        {
            Interlocked.Decrement(ref _admitted);
            throw new ServerBusyException();
        }

        var result = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        _items.Add(() =>
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
        return result.Task;
    }

    /// <summary>Refuses new work from now on and waits until the admitted work is done (or <paramref name="cancellationToken"/> gives up).</summary>
    public async Task DrainAsync(CancellationToken cancellationToken)
    {
        Volatile.Write(ref _draining, true);
        while (Volatile.Read(ref _admitted) > 0 && !cancellationToken.IsCancellationRequested)
        {
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

        _items.CompleteAdding();
        foreach (var thread in _threads)
        {
            thread.Join();
        }

        _items.Dispose();
    }

    private void Work()
    {
        foreach (var item in _items.GetConsumingEnumerable())
        {
            Interlocked.Increment(ref _running);
            try
            {
                item();
            }
            finally
            {
                Interlocked.Decrement(ref _running);
                Interlocked.Decrement(ref _admitted);
                NativeHeap.Trim();
            }
        }
    }
}

/// <summary>A thumbnail of a stored image ran past <c>ImageWorkTimeout</c>: the server is overloaded (503 with Retry-After).</summary>
public sealed class ImageWorkTimeoutException(TimeSpan timeout, Exception inner)
    : Exception($"Image work ran past its {timeout.TotalSeconds:0.###} s.", inner);

/// <summary>The image work queue is full: the client should retry shortly (answered 503 with Retry-After).</summary>
public sealed class ServerBusyException() : Exception("The image work queue is full.");
