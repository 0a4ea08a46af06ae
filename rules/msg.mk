# message model: MIME, RFC 2047, HTML to text, URIs
