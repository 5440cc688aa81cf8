import FoundationEssentials
import RecsyncFS
import RecsyncStore
import Glibc

/// What a program sees when the queue cannot record its file (at close): the disk being full is
/// ENOSPC, as for its own writes; anything else an I/O error.
extension StoreError: ErrnoMappable {
    public var errnoValue: Int32 { isDiskFull ? ENOSPC : EIO }
}
