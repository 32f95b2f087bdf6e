using System.Diagnostics;
using System.Globalization;

namespace Asgilook.Tests;

/// <summary>
/// Several real Asgilook processes on one storage folder, one PostgreSQL database and one Redis, with a
/// real nginx in front configured by the repository's <c>deploy/nginx/asgilook-server.conf</c>: the
/// topology of <c>deploy/cluster.sh</c>, with handles to kill an instance.
/// </summary>
public sealed class Cluster : IAsyncDisposable
{
    private readonly TemporaryFolder _folder;
    private readonly Process _nginx;

    private Cluster(TemporaryFolder folder, IReadOnlyList<ServerProcess> instances, Process nginx, int port)
    {
        _folder = folder;
        Instances = instances;
        _nginx = nginx;
        Balancer = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) };
    }

    public IReadOnlyList<ServerProcess> Instances { get; }

    /// <summary>nginx, balancing across the instances.</summary>
    public HttpClient Balancer { get; }

    public string StoragePath => Path.Combine(_folder.Path, "images");

    /// <summary>The storage folder of one instance, when the cluster was started on a bucket.</summary>
    public string InstanceFolder(int instance) => Path.Combine(_folder.Path, $"instance-{instance}");

    /// <summary>The bucket holding the images, when the cluster was started on one.</summary>
    public string? Bucket { get; private init; }

    /// <param name="settings">More environment for every instance (e.g. <c>Asgilook__RateLimits__UploadsPerMinute</c>).</param>
    /// <param name="s3">
    /// When given, the images live in a new bucket of that server (<see cref="Bucket"/>) and every instance has a storage
    /// folder of its own: they share no folder, as on several machines.
    /// </param>
    public static async Task<Cluster> StartAsync(
        int instances, PostgresServer postgres, RedisCacheBackend redis, IReadOnlyDictionary<string, string?>? settings = null, S3Server? s3 = null)
    {
        var nginx = new[] { "/usr/sbin/nginx", "/usr/bin/nginx" }.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("nginx is not installed, and the cluster tests need a real one. Run ./test.sh, which installs it.");
        var folder = new TemporaryFolder("asgilook-cluster-");
        Directory.CreateDirectory(Path.Combine(folder.Path, "images"));
        await redis.ResetAsync();
        var environment = new Dictionary<string, string?>
        {
            ["ASGI_LOOK_STORAGE_PATH"] = Path.Combine(folder.Path, "images"),
            ["ASGI_LOOK_REDIS_HOST"] = redis.RedisHost,
            ["ASGI_LOOK_DATABASE"] = await postgres.NewDatabaseAsync(),
            ["Logging__LogLevel__Default"] = "Warning",
            ["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Information",
            // As deploy/cluster.sh runs them: nginx (on loopback) is the one proxy believed.
            ["Asgilook__TrustedProxies__0"] = "127.0.0.1",
            ["ASGI_LOOK_ADMIN_KEYS"] = Secrets.AdminKey,
        };
        var bucket = s3?.NewBucket();
        foreach (var (name, value) in (s3?.Settings(bucket!) ?? []).Concat(settings ?? new Dictionary<string, string?>()))
        {
            environment[name] = value;
        }

        var started = await Task.WhenAll(Enumerable.Range(0, instances).Select(instance => ServerProcess.StartAsync(s3 is null ? environment : new(environment)
        {
            ["ASGI_LOOK_STORAGE_PATH"] = Directory.CreateDirectory(Path.Combine(folder.Path, $"instance-{instance}")).FullName,
        })));

        var port = Loopback.FreePort();
        var configuration = Path.Combine(folder.Path, "nginx.conf");
        var upstreams = string.Concat(started.Select(instance => $"        server 127.0.0.1:{instance.Port} max_fails=1 fail_timeout=5s;\n"));
        await File.WriteAllTextAsync(configuration, $$"""
            daemon off;
            worker_processes 1;
            pid {{folder.Path}}/nginx.pid;
            error_log {{folder.Path}}/nginx-error.log warn;
            events {
                worker_connections 1024;
            }
            http {
                access_log off;
                include {{Path.Combine(Repository.Root, "deploy", "nginx", "asgilook-http.conf")}};
                client_body_temp_path {{folder.Path}}/client_body;
                proxy_temp_path {{folder.Path}}/proxy;
                fastcgi_temp_path {{folder.Path}}/fastcgi;
                uwsgi_temp_path {{folder.Path}}/uwsgi;
                scgi_temp_path {{folder.Path}}/scgi;
                upstream asgilook {
            {{upstreams}}        keepalive 16;
                }
                server {
                    listen 127.0.0.1:{{port}};
                    include {{Path.Combine(Repository.Root, "deploy", "nginx", "asgilook-server.conf")}};
                }
            }
            """);
        var start = new ProcessStartInfo(nginx) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var argument in new[] { "-c", configuration, "-p", folder.Path, "-e", Path.Combine(folder.Path, "nginx-error.log") })
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("nginx did not start.");
        await Loopback.WaitUntilAsync(() => process.HasExited || Loopback.Accepts(port), "nginx did not start listening");
        if (process.HasExited)
        {
            throw new InvalidOperationException($"nginx exited: {await process.StandardError.ReadToEndAsync()}");
        }

        return new Cluster(folder, started, process, port) { Bucket = bucket };
    }

    /// <summary>
    /// The sum over the live instances of a counter in their <c>/metrics</c> (0 where it is absent),
    /// over the series with <paramref name="label"/> (e.g. <c>outcome="hit"</c>) when given.
    /// </summary>
    public async Task<double> SumOfMetricAsync(string name, string? label = null)
    {
        var total = 0.0;
        foreach (var instance in Instances.Where(instance => instance.IsRunning))
        {
            var text = await instance.Client.GetStringAsync("/metrics");
            total += text.Split('\n')
                .Where(line => line.StartsWith(name + "{", StringComparison.Ordinal) || line.StartsWith(name + " ", StringComparison.Ordinal))
                .Where(line => label is null || line.Contains(label, StringComparison.Ordinal))
                .Sum(line => double.Parse(line.Split(' ')[1], CultureInfo.InvariantCulture));
        }

        return total;
    }

    public async ValueTask DisposeAsync()
    {
        Balancer.Dispose();
        if (!_nginx.HasExited)
        {
            _nginx.Kill(entireProcessTree: true);
            await _nginx.WaitForExitAsync();
        }

        _nginx.Dispose();
        foreach (var instance in Instances)
        {
            await instance.DisposeAsync();
        }

        _folder.Dispose();
    }
}
