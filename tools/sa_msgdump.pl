#!/usr/bin/perl
# sa_msgdump.pl: print what SpamAssassin 4.0.1 gives each rule type for the
# messages named on the command line, in the format tools/msgdump prints
# (one record per line, escaped), so the two can be diffed.  Debug aid for
# rules/msg.c; not installed.  Usage: sa_msgdump.pl [-h SPEC,...] FILE...
use strict;
use warnings;
use Mail::SpamAssassin;
use Mail::SpamAssassin::PerMsgStatus;

my @specs = qw(Subject From To Cc From:addr From:name Reply-To:addr To:addr
  Subject:raw From:raw Message-ID MESSAGEID ToCc EnvelopeFrom Received
  Content-Type X-Mailer Date ALL ALL:raw);
if (@ARGV && $ARGV[0] eq '-h') { shift; @specs = split /,/, shift; }

sub esc {
	my $s = shift;
	return 'UNDEF' if !defined $s;
	utf8::encode($s) if utf8::is_utf8($s);
	$s =~ s/\\/\\\\/g;
	$s =~ s/\n/\\n/g;
	$s =~ s/\t/\\t/g;
	$s =~ s/([\x00-\x1f\x7f])/sprintf("\\x%02x", ord($1))/ge;
	$s =~ s/^([\@#])/sprintf("\\x%02x", ord($1))/e;
	return $s;
}

my $sa = Mail::SpamAssassin->new({ local_tests_only => 1,
    dont_copy_prefs => 1, userprefs_filename => '/dev/null',
    post_config_text => "use_bayes 0\n" });
$sa->init(1);
for my $f (@ARGV) {
	open(my $fh, '<', $f) or die "$f: $!";
	# Read with $/ undefined only here: Message.pm chomp()s part lines.
	my $raw = do { local $/; <$fh> }; close $fh;
	my $msg = $sa->parse($raw, 1);
	my $pms = Mail::SpamAssassin::PerMsgStatus->new($sa, $msg);
	$pms->extract_message_metadata();
	print "#MSG $f\n";
	print "\@body\n";
	print esc($_), "\n" for @{ $pms->get_decoded_stripped_body_text_array() };
	print "\@rawbody\n";
	print esc($_), "\n" for @{ $pms->get_decoded_body_text_array() };
	print "\@full\n", esc($msg->get_pristine()), "\n";
	print "\@parts\n";
	for my $p ($msg->find_parts(qr/./)) {
		print esc(scalar $p->get_header('Content-Type')), "\n",
		    esc(scalar $p->raw_header('Content-Type')), "\n",
		    esc(scalar $p->get_all_headers(0, 0)), "\n",
		    esc(scalar $p->get_all_headers(1, 0)), "\n";
	}
	print "\@uri\n";
	print esc($_), "\n" for $pms->get_uri_list();
	for my $h (@specs) {
		my @harr = $pms->get($h);
		my $hval;
		$hval = join($harr[0] =~ /\n\z/ ? "" : "\n", @harr) if @harr;
		print "\@hdr $h\n", esc($hval), "\n";
	}
	$pms->finish(); $msg->finish();
}
