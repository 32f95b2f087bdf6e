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

    public ImageWorkQueue(int workers, int queueLength)
    {
        Workers = workers;
        QueueLength = queueLength;
        _threads = [.. Enumerable.Range(0, workers).Select(i => new Thread(Work) { IsBackground = true, Name = $"image-worker-{i}" })];
        foreach (var thread in _threads)
        {
            thread.Start();
        }
    }

    public int Workers { get; }

    public int QueueLength { get; }

    /// <summary>Work admitted but not yet running.</summary>
    public int Waiting => Math.Max(0, Volatile.Read(ref _admitted) - Volatile.Read(ref _running));

    public Task<T> RunAsync<T>(Func<T> work, CancellationToken cancellationToken)
    {
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

    public void Dispose()
    {
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
            }
        }
    }
}

/// <summary>The image work queue is full: the client should retry shortly (answered 503 with Retry-After).</summary>
public sealed class ServerBusyException() : Exception("The image work queue is full.");
