
$3d577cb4-ddbf-4d07-a9fe-294a859be7dfÓ’¡ØÀ‘æ`+https://www.acme.example/blog/latte-art-101(2bPMozilla/5.0 (iPad; CPU OS 17_7 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148iPadOS ´(œ	:exp-free-shipping:exp-search-ranking-7B
currencyEURB
	page_typearticleRanon-28f71708-a769Xô&bfr-FRz€…Ô¢&
	instagramsociallatte-art-contest