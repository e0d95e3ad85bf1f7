using Selfsame.Graph;

namespace Selfsame.Storage;

/// <summary>A store's transaction whose clock the writer sets for each piece of work.</summary>
internal interface ITimedTransaction : IGraphTransaction
{
    new DateTimeOffset Now { get; set; }
}

/// <summary>One request to the writer.</summary>
internal abstract class WriteItem(ProjectId project, CancellationToken cancellationToken)
{
    public ProjectId Project { get; } = project;
    public CancellationToken CancellationToken { get; } = cancellationToken;

    /// <summary>A dry run: the writer applies it in a transaction of its own and rolls that back, whatever it did.</summary>
    public bool DryRun { get; init; }

    /// <summary>Applies the work; false when a piece of it threw (without savepoints, it may have written part of its work).</summary>
    public abstract bool Run(ITimedTransaction session, TimeProvider time, bool savepoints);
    public abstract void Complete();
    public abstract void Fail(Exception error);

    /// <summary>
    /// Runs one piece of work. With <paramref name="savepoints"/>, it runs in a savepoint and anything it throws is rolled
    /// back alone (<paramref name="clean"/> stays true); without, a throw leaves <paramref name="clean"/> false and the
    /// caller rolls back the whole group.
    /// </summary>
    protected WriteOutcome<T> RunOne<T>(ITimedTransaction session, TimeProvider time, Func<IGraphTransaction, T> work, bool savepoints, out bool clean)
    {
        session.Now = time.GetUtcNow();
        clean = true;
        if (savepoints)
        {
            // Counters stay as they are: a value handed out to rolled-back work is skipped, never reused.
            var value = default(T);
            var error = session.Attempt(tx => value = work(tx));
            if (error is IRecordedFailure { HasRecord: true } recorded && !DryRun)
            {
                // What threw is undone; its record is written in its place (a refusal, counted in the review queue). A dry
                // run records nothing: the refusal is in its answer.
                session.Attempt(recorded.Record);
            }
            return new WriteOutcome<T>(error is null ? value : default, error);
        }
        try
        {
            return new WriteOutcome<T>(work(session), null);
        }
        catch (Exception e)
        {
            clean = false;
            return new WriteOutcome<T>(default, e);
        }
    }
}

internal sealed class SingleWrite<T>(ProjectId project, Func<IGraphTransaction, T> work, CancellationToken cancellationToken)
    : WriteItem(project, cancellationToken)
{
    private readonly TaskCompletionSource<T> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private WriteOutcome<T> _outcome;

    public Task<T> Task => _done.Task;

    public override bool Run(ITimedTransaction session, TimeProvider time, bool savepoints)
    {
        _outcome = RunOne(session, time, work, savepoints, out var clean);
        return clean;
    }

    public override void Complete()
    {
        if (_outcome.Error is { } error)
        {
            _done.TrySetException(error);
        }
        else
        {
            _done.TrySetResult(_outcome.Value!);
        }
    }

    public override void Fail(Exception error) => _done.TrySetException(error);
}

internal sealed class EachWrite<T>(ProjectId project, IReadOnlyList<Func<IGraphTransaction, T>> work, CancellationToken cancellationToken)
    : WriteItem(project, cancellationToken)
{
    private readonly TaskCompletionSource<IReadOnlyList<WriteOutcome<T>>> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<WriteOutcome<T>> _outcomes = new(work.Count);

    public Task<IReadOnlyList<WriteOutcome<T>>> Task => _done.Task;

    public override bool Run(ITimedTransaction session, TimeProvider time, bool savepoints)
    {
        _outcomes.Clear();
        foreach (var piece in work)
        {
            _outcomes.Add(RunOne(session, time, piece, savepoints, out var clean));
            if (!clean)
            {
                return false;
            }
        }
        return true;
    }

    public override void Complete() => _done.TrySetResult(_outcomes);

    public override void Fail(Exception error) => _done.TrySetException(error);
}

/// <summary>A failure whose record outlives the undone work: the work is rolled back, then <see cref="Record"/> writes in its place.</summary>
public interface IRecordedFailure
{
    bool HasRecord { get; }

    void Record(IGraphTransaction tx);
}
