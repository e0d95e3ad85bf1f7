namespace Selfsame.Storage;

/// <summary>Reads of one project's committed data, in one snapshot. Every call is scoped to <see cref="IProjectSession.Project"/>.</summary>
public interface IGraphReadSession : IGraphReads, IEventReads, ICompanyReads, IReviewReads;
