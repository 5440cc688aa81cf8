import CCurl
import CCrypto
func _probe() { let h = curl_easy_init(); _ = recsync_curl_setopt_long(h, CURLOPT_VERBOSE, 0); curl_easy_cleanup(h); _ = EVP_sha256() }
