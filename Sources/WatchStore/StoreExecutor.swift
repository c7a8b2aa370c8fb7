#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The thread a ``StateStore`` runs on: a serial executor of its own, so the store's blocking
/// calls (an SQLite commit's fsync, a PostgreSQL statement awaited with `wait()`) never hold a
/// thread of Swift's cooperative pool or one of NIO's event loops, which run the polls and the
/// HTTP exchanges (docs/service.md, threads).
///
/// One thread per store, started with it and ended once the store is gone: ``shutdown()`` lets
/// the thread run the jobs already queued, then exit.
final class StoreExecutor: SerialExecutor, @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    /// Guarded by `mutex`.
    private var jobs: [UnownedJob] = []
    private var stopping = false
    /// The store's thread, set by the thread itself before it runs a job; guarded by `mutex`.
    private var thread: pthread_t?

    init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
        let box = Unmanaged.passRetained(self)
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        // A small stack: the store's work is SQL, not recursion (the default is 8 MiB of address
        // space per thread).
        pthread_attr_setstacksize(&attributes, 1 << 20)
        var handle = pthread_t()
        let started = pthread_create(&handle, &attributes, { raw in
            let executor = Unmanaged<StoreExecutor>.fromOpaque(raw!).takeRetainedValue()
            executor.runLoop()
            return nil
        }, box.toOpaque())
        pthread_attr_destroy(&attributes)
        precondition(started == 0, "cannot start the store's thread: error \(started)")
        pthread_detach(handle)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        pthread_mutex_lock(mutex)
        jobs.append(job)
        let wasIdle = jobs.count == 1
        pthread_mutex_unlock(mutex)
        if wasIdle { pthread_cond_signal(condition) }
    }

    func asUnownedSerialExecutor() -> UnownedSerialExecutor {
        UnownedSerialExecutor(ordinary: self)
    }

    /// Whether the caller runs on this executor's thread (what `assumeIsolated` asks).
    func checkIsolated() {
        pthread_mutex_lock(mutex)
        let thread = self.thread
        pthread_mutex_unlock(mutex)
        precondition(thread.map { pthread_equal($0, pthread_self()) != 0 } ?? false,
                     "not on the store's thread")
    }

    /// Ends the thread once the jobs queued so far have run.
    func shutdown() {
        pthread_mutex_lock(mutex)
        stopping = true
        pthread_mutex_unlock(mutex)
        pthread_cond_signal(condition)
    }

    /// The thread's body: runs the queued jobs in order, sleeping while there are none. The
    /// thread holds a reference to the executor until it ends.
    private func runLoop() {
        let unowned = asUnownedSerialExecutor()
        var batch: [UnownedJob] = []
        pthread_mutex_lock(mutex)
        thread = pthread_self()
        pthread_mutex_unlock(mutex)
        while true {
            pthread_mutex_lock(mutex)
            while jobs.isEmpty && !stopping {
                pthread_cond_wait(condition, mutex)
            }
            if jobs.isEmpty && stopping {
                pthread_mutex_unlock(mutex)
                return
            }
            swap(&batch, &jobs)
            pthread_mutex_unlock(mutex)
            for job in batch { job.runSynchronously(on: unowned) }
            batch.removeAll(keepingCapacity: true)
        }
    }
}
