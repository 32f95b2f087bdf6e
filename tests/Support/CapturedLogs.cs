using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Asgilook.Tests;

/// <summary>Keeps what the app logs, so that tests can check what is logged and how often.</summary>
public sealed class CapturedLogs : ILoggerProvider
{
    private readonly ConcurrentQueue<(string Category, LogLevel Level, string Message, Exception? Exception)> _entries = new();

    public IReadOnlyList<(string Category, LogLevel Level, string Message, Exception? Exception)> Entries => [.. _entries];

    public IReadOnlyList<string> Warnings(string categoryEndsWith) =>
        [.. Entries.Where(e => e.Level == LogLevel.Warning && e.Category.EndsWith(categoryEndsWith, StringComparison.Ordinal)).Select(e => e.Message)];

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, _entries);

    public void Dispose()
    {
    }

    private sealed class Logger(string category, ConcurrentQueue<(string, LogLevel, string, Exception?)> entries) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                var message = formatter(state, exception);
                entries.Enqueue((category, logLevel, message, exception));
                Secrets.Logged($"{category}: {message} {exception}");
            }
        }
    }
}
