-- send.lua: one milter connection to moat-milter, driven by miltertest
-- (tests/integration/test_milter.py runs it).  Parameters (-D name=value):
--   conn        the socket, e.g. inet:8894@127.0.0.1 (required)
--   ip, host    the SMTP client (default 192.0.2.1, mail.sender.test);
--               host "unknown" is what Postfix says when it has no name
--   helo        HELO name (default mail.sender.test)
--   from        envelope sender (default s@sender.test)
--   rcpts       recipients, comma-separated (default alice@example.test)
--   auth        the {auth_authen} macro at MAIL (default: none)
--   qid         the queue id macro "i" at MAIL (default QID1)
--   msg         a message file (CRLF or LF; default: a small clean one)
--   txs         transactions on this connection (default 1)
--   abort       "1": abort after the last recipient instead of DATA
--   code, ecode, text   the reply expected at end of message: prints
--               "smtpreply ok" when the milter set exactly that one
-- Prints one line per step, "STEP REPLY" (REPLY as the milter's reply
-- character: c continue, y reply code, r reject, t tempfail, a accept),
-- and after end of message the header changes, as key=value lines.

local function reply(step)
	local r = mt.getreply(conn)
	print(step .. " " .. string.char(r))
	return string.char(r)
end

local function split(s, sep)
	local out = {}
	for part in string.gmatch(s, "([^" .. sep .. "]+)") do
		table.insert(out, part)
	end
	return out
end

local message
if msg ~= nil then
	local f = assert(io.open(msg, "rb"))
	message = f:read("*a")
	f:close()
else
	message = "From: <s@sender.test>\r\nTo: <alice@example.test>\r\n" ..
	    "Subject: hello\r\nDate: Tue, 24 Nov 2026 00:00:00 +0000\r\n" ..
	    "Message-ID: <m1@sender.test>\r\n\r\nHello there.\r\n"
end
message = (string.gsub(message, "\r\n", "\n"))
local head, body = string.match(message, "^(.-)\n\n(.*)$")
if head == nil then
	head, body = message, ""
end

mt.set_timeout(30)
conn = mt.connect(conn, 40, 0.25)
if conn == nil then
	error("cannot connect to the milter")
end
if mt.negotiate(conn, nil, nil, nil) ~= nil then
	error("negotiation failed")
end
for _, a in ipairs({ "SMFIF_ADDHDRS", "SMFIF_CHGHDRS", "SMFIF_QUARANTINE",
    "SMFIF_SETSYMLIST" }) do
	if mt.test_action(conn, _G[a]) then
		print("action " .. a)
	end
end
for _, o in ipairs({ "SMFIP_NOUNKNOWN", "SMFIP_NODATA", "SMFIP_HDR_LEADSPC",
    "SMFIP_NOHDRS", "SMFIP_NOBODY" }) do
	if mt.test_option(conn, _G[o]) then
		print("option " .. o)
	end
end

mt.macro(conn, SMFIC_CONNECT, "{daemon_name}", "mx-test",
    "{client_addr}", ip or "192.0.2.1", "{client_name}",
    host or "mail.sender.test")
mt.conninfo(conn, host or "mail.sender.test", ip or "192.0.2.1")
if reply("connect") ~= "c" then
	mt.disconnect(conn)
	return
end
mt.helo(conn, helo or "mail.sender.test")
if reply("helo") ~= "c" then
	mt.disconnect(conn)
	return
end

for t = 1, tonumber(txs or "1") do
	if auth ~= nil then
		mt.macro(conn, SMFIC_MAIL, "i", (qid or "QID") .. t,
		    "{auth_authen}", auth)
	else
		mt.macro(conn, SMFIC_MAIL, "i", (qid or "QID") .. t)
	end
	mt.mailfrom(conn, "<" .. (from or "s@sender.test") .. ">")
	if reply("mail") == "c" then
		local ok = 0
		for _, r in ipairs(split(rcpts or "alice@example.test", ",")) do
			mt.rcptto(conn, "<" .. r .. ">")
			if reply("rcpt " .. r) == "c" then
				ok = ok + 1
			end
		end
		if abort == "1" then
			mt.abort(conn)
			print("abort")
		elseif ok > 0 then
			-- Header fields, unfolded as an MTA passes them.
			local name, value
			for line in string.gmatch(head .. "\n", "(.-)\n") do
				if string.match(line, "^[ \t]") and name then
					value = value .. "\n" .. line
				else
					if name then
						mt.header(conn, name, value)
					end
					name, value = string.match(line,
					    "^([^:]+):(.*)$")
				end
			end
			if name then
				mt.header(conn, name, value)
			end
			mt.eoh(conn)
			mt.bodystring(conn, (string.gsub(body, "\n", "\r\n")))
			mt.eom(conn)
			reply("eom")
			for _, h in ipairs({ "X-Spam-Flag", "X-Spam-Score",
			    "X-Spam-Status", "Subject",
			    "Authentication-Results" }) do
				local v = mt.getheader(conn, h, 0)
				if v ~= nil then
					print("added " .. h .. "=" ..
					    (string.gsub(v, "\n", "\\n")))
				end
			end
			if mt.eom_check(conn, MT_HDRCHANGE, "Subject") then
				print("changed Subject")
			end
			if mt.eom_check(conn, MT_HDRDELETE, "X-Spam-Flag") or
			    mt.eom_check(conn, MT_HDRCHANGE, "X-Spam-Flag") then
				print("deleted X-Spam-Flag")
			end
			if mt.eom_check(conn, MT_HDRDELETE, "X-Spam-Status") or
			    mt.eom_check(conn, MT_HDRCHANGE, "X-Spam-Status") then
				print("deleted X-Spam-Status")
			end
			if mt.eom_check(conn, MT_HDRINSERT,
			    "Authentication-Results") then
				print("inserted Authentication-Results")
			end
			if mt.eom_check(conn, MT_HDRDELETE,
			    "Authentication-Results") or mt.eom_check(conn,
			    MT_HDRCHANGE, "Authentication-Results") then
				print("deleted Authentication-Results")
			end
			if code ~= nil and mt.eom_check(conn, MT_SMTPREPLY,
			    code, ecode, text) then
				print("smtpreply ok")
			end
			if mt.eom_check(conn, MT_QUARANTINE) then
				print("quarantine")
			end
		end
	end
end
mt.disconnect(conn)
