import FoundationEssentials

extension QueueRunner {
    /// Starts `monitor` and lets it steer this uploader: each change goes through the engine's
    /// gate (the policy decides), then `networkChanged`. `onTick` runs every `sync_interval`
    /// after the monitor's periodic look (the daemon rescans the folder there); the runner is
    /// woken after it. Call before `start()`, so the first uploads already see the network.
    public func follow(_ monitor: NetworkMonitor, onTick: @escaping @Sendable () -> Void = {}) {
        monitor.start(onChange: { [weak self] _, new in
            guard let self else { return }
            let (before, after) = engine.gate.update(network: new)
            networkChanged(from: before, to: after)
        }, onTick: { [weak self] in
            onTick()
            self?.wake()
        })
        engine.gate.update(network: monitor.state)
    }
}
