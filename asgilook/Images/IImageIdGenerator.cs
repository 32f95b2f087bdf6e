namespace Asgilook.Images;

/// <summary>Hands out ids for new uploads; tests replace it to predict ids, as the tutorial's fixture does.</summary>
public interface IImageIdGenerator
{
    Guid NewId();
}

/// <summary>Random (version 4) uuids, as the tutorial's <c>uuid.uuid4</c>.</summary>
public sealed class RandomImageIdGenerator : IImageIdGenerator
{
    public Guid NewId() => Guid.NewGuid();
}
