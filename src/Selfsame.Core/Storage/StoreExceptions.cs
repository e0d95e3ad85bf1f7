namespace Selfsame.Storage;

/// <summary>
/// The store could not be reached or could not finish in time (a database down or restarting, a broken connection, a
/// lock or statement timeout, a serialization failure). Nothing of the failed call was acknowledged; a retry may succeed.
/// Every store throws this, with the driver's exception inside, so that callers need not know any driver's types.
/// </summary>
public sealed class StoreUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// The store refused a value that passed the engine's own checks (too long for an index, a byte it cannot keep). The
/// write that carried it is not applied; the same request will fail again.
/// </summary>
public sealed class StoreValueRejectedException(string message, Exception? inner = null) : Exception(message, inner);
